"""What a run's record is made of, read from dbt Cloud once the run ended: the run with its trigger, job and steps,
each dbt step's results file (``run_results.json``, or ``sources.json`` for freshness) and the manifest of its
last node step. Files a wait already read (:class:`~dbt_kickoff.cloud.watch.RunWatch`) are not read again.

A flow shared by the sync and async runners (see :mod:`.flows`); it returns plain data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from dbt_kickoff.cloud.artifacts import step_command
from dbt_kickoff.cloud.errors import DbtCloudNotFoundError
from dbt_kickoff.cloud.flows import Flow, call
from dbt_kickoff.cloud.follow import FOLLOWED, TERMINAL, results_file

RECORD_RELATED = ("trigger", "job")
"""What a record needs of a run besides its steps: read with the run when the wait starts."""
_COMMAND = re.compile(r"`([^`]*)`")


def step_args(step: Mapping[str, Any]) -> list[str]:
    """The command line of a step named "Invoke dbt with `dbt build -s x`", after ``dbt``."""
    match = _COMMAND.search(str(step.get("name") or ""))
    words = match.group(1).split() if match else []
    return words[1:] if words[:1] == ["dbt"] else words


def collect_flow(
    run: Mapping[str, Any], related: Mapping[str, Any], known: Mapping[tuple[int, str], bytes]
) -> Flow[tuple[dict[str, Any], list[dict[str, Any]], bytes | None]]:
    """``(run, steps, manifest)``: the run with its ``trigger`` and ``job`` (taken from ``related``, the run as
    first read) and its steps (read again only when ``run`` lacks them), one dict per dbt step (``index``,
    ``name``, ``command``, ``args``, ``status``, ``started_at``, ``finished_at``, ``logs``, ``files``) and the
    manifest of the last finished node step (``None`` when it has none). ``known``: files already read."""
    run_id = int(run["id"])
    if not run.get("run_steps"):
        run = yield call("get_run", run_id, ("run_steps",))
    run = {**run, "trigger": run.get("trigger") or related.get("trigger"), "job": run.get("job") or related.get("job")}
    steps: list[dict[str, Any]] = []
    last_node_step: int | None = None
    for step in sorted(run.get("run_steps") or [], key=lambda s: int(s.get("index") or 0)):
        command = step_command(step)
        if command is None:
            continue  # a setup step (clone, profile)
        index = int(step["index"])
        files: dict[str, bytes] = {}
        if command in FOLLOWED and step.get("status") in TERMINAL:
            name = results_file(command)
            content = known.get((index, name))
            if content is None:
                content = yield from _artifact(run_id, name, index)
            if content is not None:
                files[name] = content
                last_node_step = index
        steps.append({
            "index": index, "name": str(step.get("name") or ""), "command": command, "args": step_args(step),
            "status": int(step.get("status") or 0), "started_at": step.get("started_at"),
            "finished_at": step.get("finished_at"), "logs": str(step.get("logs") or ""), "files": files,
        })
    manifest = None if last_node_step is None else (yield from _artifact(run_id, "manifest.json", last_node_step))
    return run, steps, manifest


def _artifact(run_id: int, name: str, step: int) -> Flow[bytes | None]:
    try:
        content: bytes = yield call("get_artifact", run_id, name, step=step)
    except DbtCloudNotFoundError:
        return None
    return content
