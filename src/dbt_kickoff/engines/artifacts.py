"""Which of dbt's artifacts belong to an invocation, and reading them: the one rule is the artifact's
``metadata.invocation_id`` (dbt writes it first, v1 and v2 alike). The v2 engine's quirks stay in
:mod:`~dbt_kickoff.engines.fusion`."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dbt_kickoff.engines import fusion
from dbt_kickoff.engines.base import InvocationOutcome, NodeEvent
from dbt_kickoff.results import NodeResult, load_run_results

_HEAD_BYTES = 4096
_INVOCATION_ID = re.compile(rb'"invocation_id"\s*:\s*"([^"]+)"')


def results_file(command: Sequence[str], target: Path) -> Path:
    """``source freshness`` writes sources.json; every other command writes run_results.json."""
    if list(command[:2]) == ["source", "freshness"]:
        return target / "sources.json"
    return target / "run_results.json"


def invocation_of(path: Path) -> str | None:
    """The invocation that wrote the artifact at ``path`` (read from its head), or ``None``."""
    try:
        with path.open("rb") as handle:
            found = _INVOCATION_ID.search(handle.read(_HEAD_BYTES))
    except OSError:
        return None
    return found.group(1).decode() if found else None


def written_by(path: Path, invocation_id: str | None) -> bool:
    """True when the artifact at ``path`` is the one ``invocation_id`` wrote."""
    return invocation_id is not None and invocation_of(path) == invocation_id


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON artifact as a dict, or ``None`` when it is absent or not valid JSON."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_artifact(path: Path, invocation_id: str | None) -> dict[str, Any] | None:
    """The artifact ``invocation_id`` wrote at ``path``; ``None`` when absent or written by another one."""
    data = read_json(path)
    if data is None or (data.get("metadata") or {}).get("invocation_id") != invocation_id:
        return None
    return data


def read_manifest(target: Path) -> dict[str, Any] | None:
    """The ``manifest.json`` the last parse left in ``target`` (whichever command wrote it)."""
    return read_json(target / "manifest.json")


def result_from_event(node: NodeEvent) -> NodeResult:
    """A node result from dbt's live NodeFinished event (when no run_results.json was written)."""
    return NodeResult(model_name=node.name, unique_id=node.unique_id, resource_type=node.resource_type,
                      status=node.status or "unknown", time=float(node.execution_time or 0.0), message=node.message)


def read_results(command: Sequence[str], target: Path, outcome: InvocationOutcome) -> list[NodeResult]:
    """The node results this invocation wrote (a stale file is never used). A command that was stopped or
    whose dbt died may have written none: then the nodes that finished, from the live events."""
    path = results_file(command, target)
    written = None
    if outcome.invocation_id and fusion.wrote(path):  # the dbt v2 engine's (its messages completed from its log)
        written = fusion.load_run_results(path, outcome.invocation_id, errors=outcome.errors)
    elif outcome.invocation_id:
        written = load_run_results(path, outcome.invocation_id)
    if written is not None:
        return written
    if outcome.cancelled or outcome.crashed:
        return [result_from_event(node) for node in outcome.finished_nodes]
    return []
