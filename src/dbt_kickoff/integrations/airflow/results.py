"""Node results as small JSON values for XCom, a one-line-per-node summary for the task log, and the log line of a
node as it finishes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from dbt_kickoff.engines.base import DbtEvent
from dbt_kickoff.results import FAILURE_STATUSES, NodeResult

MESSAGE_LIMIT = 300


def compact_results(results: Iterable[NodeResult]) -> list[dict[str, Any]]:
    """One small dict per node: ``unique_id``, ``name``, ``type``, ``status``, ``time`` (s); ``rows``,
    ``failures`` and ``message`` (cut to 300 characters) only when there is something to say."""
    compact = []
    for r in results:
        item: dict[str, Any] = {
            "unique_id": r.unique_id,
            "name": r.model_name,
            "type": r.resource_type,
            "status": r.status,
            "time": round(r.time, 3),
        }
        if r.rows_affected is not None:
            item["rows"] = r.rows_affected
        if r.failures:
            item["failures"] = r.failures
        if r.message and r.status not in {"success", "pass"}:
            item["message"] = r.message[:MESSAGE_LIMIT]
        compact.append(item)
    return compact


def summary_lines(results: Iterable[NodeResult]) -> list[str]:
    """``status  type name  time  (rows)`` per node, for the task log."""
    return [
        f"{r.status:<8} {r.resource_type} {r.model_name} {r.time:.2f}s"
        + (f" ({r.rows_affected} rows)" if r.rows_affected is not None else "")
        + (f": {r.message}" if r.is_failure and r.message else "")
        for r in results
    ]


def event_line(event: DbtEvent) -> str | None:
    """The task log's line for a node dbt (Core or Cloud) just finished, else ``None``."""
    node = event.node
    if not event.finished or node is None:
        return None
    seconds = f" {node.execution_time:.2f}s" if node.execution_time is not None else ""
    said = f": {node.message}" if node.message and node.status in FAILURE_STATUSES else ""
    return f"dbt node finished: {node.status:<8} {node.resource_type} {node.name}{seconds}{said}"
