"""Run progression: Queued -> Starting -> Running -> terminal, by polls and by clock, plus step outcomes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from dbt_kickoff_emulator.artifacts import (
    DEFAULT_NODES,
    debug_logs_from,
    encode_artifact,
    invocation_id_for,
    make_catalog,
    make_manifest,
    make_run_results,
    setup_step_logs,
    summarize_logs,
    writes_node_artifacts,
)
from dbt_kickoff_emulator.models import (
    CANCELLED,
    DOCS_COMMAND,
    ERROR,
    NOT_STARTED,
    QUEUED,
    RUNNING,
    SETUP_STEP_COUNT,
    STARTING,
    SUCCESS,
    Run,
    Step,
)
from dbt_kickoff_emulator.wire import humanize_seconds

USER_CANCEL_MESSAGE = "Cancelled by user."
SCRIPTED_CANCEL_MESSAGE = "Cancelled by system."


def timeout_message(seconds: int) -> str:
    """dbt Cloud's status message for a run that exceeded its timeout."""
    return (
        f"This run timed out after running for {humanize_seconds(seconds)}, "
        f"which exceeded the configured timeout of {seconds} seconds."
    )


def final_step_index(run: Run) -> int:
    """The last step the run's script lets start (the failing step for an error outcome)."""
    total = len(run.steps)
    script = run.script
    if script.outcome == "success":
        return total
    default = SETUP_STEP_COUNT + 1 if script.outcome == "error" else total
    return max(1, min(script.failing_step or default, total))


def _elapsed(since: datetime | None, now: datetime) -> float:
    return 0.0 if since is None else (now - since).total_seconds()


def _enter(run: Run, status: int, now: datetime) -> None:
    run.status = status
    run.phase_entered_at = now
    run.phase_polls = 0
    run.updated_at = now


def phase_done(run: Run, now: datetime, polled: bool) -> bool:
    """Whether the current phase has used up its polls and its seconds.

    A phase that counts polls only ends during a GET of the run (``polled``), so a run never moves on
    behind the back of the client that last saw it; clock-only phases end on any request.
    """
    script = run.script
    polls, seconds = {
        QUEUED: (script.queued_polls, script.queued_seconds),
        STARTING: (script.starting_polls, script.starting_seconds),
        RUNNING: (script.running_polls, script.running_seconds),
    }[run.status]
    return (
        (polled or not polls) and run.phase_polls >= polls and _elapsed(run.phase_entered_at, now) >= seconds
    )


def dequeue(run: Run, now: datetime) -> None:
    """Queued -> Starting."""
    run.dequeued_at = now
    run.blocked_by = []
    _enter(run, STARTING, now)


def start(run: Run, now: datetime) -> None:
    """Starting -> Running; the first step begins."""
    run.started_at = now
    run.final_step = final_step_index(run)
    _enter(run, RUNNING, now)
    _advance_steps(run, 1, now)


def advance_running(run: Run, now: datetime, timeout_seconds: int, polled: bool) -> bool:
    """Move a running run along: timeout, pending cancel, step progress, outcome. True when it changed."""
    if timeout_seconds and _elapsed(run.started_at, now) >= timeout_seconds:
        finish_cancelled(run, now, timeout_message(timeout_seconds))
        return True
    script = run.script
    if (
        run.cancel_requested_at is not None
        and (polled or not script.cancel_polls)
        and run.cancel_polls >= script.cancel_polls
        and _elapsed(run.cancel_requested_at, now) >= script.cancel_seconds
    ):
        finish_cancelled(run, now, USER_CANCEL_MESSAGE)
        return True
    if phase_done(run, now, polled):
        _finish_by_script(run, now)
        return True
    fractions = []
    if script.running_polls and polled:
        fractions.append(run.phase_polls / script.running_polls)
    if script.running_seconds:
        fractions.append(_elapsed(run.phase_entered_at, now) / script.running_seconds)
    fraction = min(max(fractions, default=0.0), 0.999)
    return _advance_steps(run, 1 + int(fraction * run.final_step), now)


def _advance_steps(run: Run, current: int, now: datetime) -> bool:
    changed = False
    for step in run.steps:
        if step.index < current and step.status in (NOT_STARTED, RUNNING):
            if not step.started:
                _start_step(step, now)
            finish_step(run, step, SUCCESS, now)
            changed = True
        elif step.index == current and not step.started:
            _start_step(step, now)
            changed = True
    return changed


def _start_step(step: Step, now: datetime) -> None:
    step.status = RUNNING
    step.created_at = step.started_at = now
    step.logs = f"{step.name}\n" if step.command is None else f"Running with dbt\n{step.name}\n"


def _finish_by_script(run: Run, now: datetime) -> None:
    final = run.final_step
    _advance_steps(run, final, now)
    last = run.step_by_index(final)
    assert last is not None
    outcome = run.script.outcome
    if outcome == "success":
        finish_step(run, last, SUCCESS, now)
        _end(run, SUCCESS, now, run.script.status_message)
    elif outcome == "error":
        finish_step(run, last, ERROR, now)
        _end(run, ERROR, now, run.script.status_message)
    else:
        finish_step(run, last, CANCELLED, now)
        _end(run, CANCELLED, now, run.script.status_message or SCRIPTED_CANCEL_MESSAGE)


def finish_cancelled(run: Run, now: datetime, message: str) -> None:
    """End the run as Cancelled; a running step is cancelled with it."""
    for step in run.steps:
        if step.status == RUNNING:
            finish_step(run, step, CANCELLED, now)
    _end(run, CANCELLED, now, message)


def _end(run: Run, status: int, now: datetime, message: str | None) -> None:
    run.finished_at = now
    run.status_message = message
    run.blocked_by = []
    run.status = status
    run.updated_at = now


def finish_step(run: Run, step: Step, status: int, now: datetime) -> None:
    """Finish a step: status, timestamps, logs and the files it wrote."""
    step.status = status
    step.finished_at = now
    script = run.script
    failed = status == ERROR
    run_results = None
    if step.command and status != CANCELLED and writes_node_artifacts(step.command):
        run_results = _write_node_artifacts(run, step, failed, now)
    for path, value in script.artifacts.get(step.index, {}).items():
        if value is None:
            step.artifacts.pop(path, None)
        else:
            step.artifacts[path] = encode_artifact(value)
    if step.index in script.step_logs:
        step.logs = script.step_logs[step.index]
    elif step.command and step.index > SETUP_STEP_COUNT:
        step.logs = summarize_logs(step.command, run_results, failed=failed or status == CANCELLED)
    else:
        step.logs = setup_step_logs(step.name, failed=failed)
    step.debug_logs = script.debug_logs.get(step.index) or debug_logs_from(step.logs, step.command)


def _write_node_artifacts(run: Run, step: Step, failed: bool, now: datetime) -> Mapping[str, Any] | None:
    assert step.command is not None and step.started_at is not None
    nodes: Sequence[str] = run.script.nodes if run.script.nodes is not None else DEFAULT_NODES
    invocation_id = invocation_id_for(run.id, step.index)
    if step.index in run.script.run_results:
        run_results = run.script.run_results[step.index]
    else:
        run_results = make_run_results(
            step.command, nodes, failed=failed, started_at=step.started_at, invocation_id=invocation_id
        )
    if run_results is not None:
        step.artifacts["run_results.json"] = encode_artifact(run_results)
    step.artifacts["manifest.json"] = encode_artifact(
        make_manifest(nodes, invocation_id=invocation_id, generated_at=now)
    )
    if step.command == DOCS_COMMAND and not failed:
        step.artifacts["catalog.json"] = encode_artifact(
            make_catalog(nodes, invocation_id=invocation_id, generated_at=now)
        )
    return run_results if isinstance(run_results, dict) else None
