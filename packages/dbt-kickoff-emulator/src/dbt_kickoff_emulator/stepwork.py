"""One step's work: it starts, its nodes start and finish one after the other (its logs grow as they do), and it
finishes with the files dbt writes (run_results.json or sources.json, manifest.json, catalog.json).

Nodes finishing between two moments of progress share that time out evenly, so their timings in the logs and in
``run_results.json`` are the emulator clock's and add up to the step's duration.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from dbt_kickoff_emulator import steplog
from dbt_kickoff_emulator.artifacts import (
    DEFAULT_NODES,
    DOCS_VERB,
    command_verb,
    encode_artifact,
    invocation_id_for,
    make_catalog,
    make_manifest,
    make_run_results,
    make_sources,
    nodes_for,
    runs_nodes,
    writes_node_artifacts,
)
from dbt_kickoff_emulator.models import CANCELLED, ERROR, RUNNING, Run, Step
from dbt_kickoff_emulator.noderuns import NodeRun, plan_node_runs


def project_nodes(run: Run) -> Sequence[str]:
    return run.script.nodes if run.script.nodes is not None else DEFAULT_NODES


def start_step(run: Run, step: Step, now: datetime) -> None:
    """The step begins: its nodes are planned and dbt's header is logged."""
    step.status = RUNNING
    step.created_at = step.started_at = step.progressed_at = now
    if step.command is None:
        step.log_lines = [steplog.console(now, step.name)]
        step.debug_lines = [steplog.debug(now, step.name)]
        return
    executed = step.node_ids if step.node_ids is not None else nodes_for(step.command, project_nodes(run))
    failing = run.script.outcome == "error" and step.index == run.final_step
    step.node_runs = plan_node_runs(executed, run.script.node_statuses, failing=failing)
    lines = [f"Invoking dbt with `{step.command}`", *steplog.header(step.command, step.node_runs, now)]
    step.log_lines = [steplog.console(now, line) for line in lines]
    step.debug_lines = [steplog.debug(now, line) for line in lines]


def advance_nodes(step: Step, progress: float, now: datetime) -> bool:
    """Move the step's nodes on to ``progress`` (0 to 1: the share of its nodes finished); True when one moved."""
    runs = step.node_runs
    target = min(len(runs), int(progress * len(runs)))
    pending = [r for r in runs[:target] if not r.finished]
    upcoming = runs[target] if target < len(runs) else None
    running = upcoming if upcoming is not None and upcoming.started_at is None and upcoming.status != "skipped" \
        else None  # dbt never starts a node it skips: it only reports it, when its turn has passed
    if not pending and running is None:
        return False
    since = step.progressed_at or now
    share = (now - since) / max(1, len(pending))
    for number, node in enumerate(pending, start=1):
        _finish_node(step, node, since + share * (number - 1), since + share * number)
    if running is not None:
        _start_node(step, running, now)
    step.progressed_at = now
    return True


def _start_node(step: Step, node: NodeRun, moment: datetime) -> None:
    if node.started_at is not None:
        return
    node.started_at = moment
    total = len(step.node_runs)
    step.debug_lines += [steplog.debug(moment, line, level="debug", thread=node.thread)
                         for line in steplog.node_debug_before(node)[:1]]
    line = steplog.start_line(node, total)
    step.log_lines.append(steplog.console(moment, line))
    step.debug_lines.append(steplog.debug(moment, line, thread=node.thread))
    step.debug_lines += [steplog.debug(moment, line, level="debug", thread=node.thread)
                         for line in steplog.node_debug_before(node)[1:]]


def _finish_node(step: Step, node: NodeRun, start: datetime, end: datetime) -> None:
    """A node ends (a skipped one is only reported: dbt never starts it)."""
    if node.status != "skipped":
        _start_node(step, node, start)
    else:
        node.started_at = end
    node.finished_at = end
    thread = node.thread
    line = steplog.result_line(node, len(step.node_runs))
    if node.status != "skipped":
        step.debug_lines += [steplog.debug(end, text, level="debug", thread=thread)
                             for text in steplog.node_debug_after(node)]
    step.log_lines.append(steplog.console(end, line))
    level = "error" if node.status in ("error", "fail") else "warn" if node.status == "warn" else "info"
    step.debug_lines.append(steplog.debug(end, line, level=level, thread=thread))
    step.debug_lines.append(steplog.debug(end, f"Finished running node {node.unique_id}", level="debug",
                                          thread=thread))


def finish_step(run: Run, step: Step, status: int, now: datetime) -> None:
    """The step ends with ``status``: its other nodes finish (a cancelled step's stop), dbt's summary is logged,
    the files it wrote appear, and scripted logs or artifacts replace what the emulator made."""
    script = run.script
    if status != CANCELLED:
        advance_nodes(step, 1.0, now)
    step.status = status
    step.finished_at = now
    failed = status == ERROR
    if step.command is None:
        step.log_lines += [steplog.console(now, line) for line in steplog.setup_lines(step.name, failed=failed)[1:]]
    elif status == CANCELLED:
        step.log_lines.append(steplog.console(now, "Cancelled by user: the dbt process was stopped."))
        step.debug_lines.append(steplog.debug(now, "Received a cancel request: stopping dbt."))
    elif runs_nodes(step.command):
        seconds = (now - step.started_at).total_seconds() if step.started_at else 0.0
        summary = steplog.footer(step.node_runs, seconds, failed=failed)
        step.log_lines += [steplog.console(now, line) for line in summary]
        step.debug_lines += [steplog.debug(now, line) for line in summary]
    if step.command is not None and status != CANCELLED and writes_node_artifacts(step.command):
        _write_files(run, step, failed, now)
    for path, value in script.artifacts.get(step.index, {}).items():
        if value is None:
            step.artifacts.pop(path, None)
        else:
            step.artifacts[path] = encode_artifact(value)
    if step.index in script.step_logs:
        step.log_lines = script.step_logs[step.index].splitlines()
    if step.index in script.debug_logs:
        step.debug_lines = script.debug_logs[step.index].splitlines()
    elif step.index in script.step_logs:
        step.debug_lines = [steplog.debug(now, line) for line in step.log_lines]


def _write_files(run: Run, step: Step, failed: bool, now: datetime) -> None:
    assert step.command is not None and step.started_at is not None
    invocation_id = invocation_id_for(run.id, step.index)
    verb = command_verb(step.command)
    if step.index in run.script.run_results:
        run_results = run.script.run_results[step.index]
    elif verb == "source":
        run_results = None
        step.artifacts["sources.json"] = encode_artifact(
            make_sources(step.node_runs, finished_at=now, invocation_id=invocation_id))
    else:
        run_results = make_run_results(step.command, step.node_runs, started_at=step.started_at, finished_at=now,
                                       invocation_id=invocation_id)
    if run_results is not None:
        step.artifacts["run_results.json"] = encode_artifact(run_results)
    nodes = project_nodes(run)
    step.artifacts["manifest.json"] = encode_artifact(make_manifest(nodes, invocation_id=invocation_id,
                                                                    generated_at=now))
    if verb == DOCS_VERB and not failed:
        step.artifacts["catalog.json"] = encode_artifact(
            make_catalog(nodes, invocation_id=invocation_id, generated_at=now)
        )
