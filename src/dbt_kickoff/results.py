"""Per-node results, read from dbt's ``run_results.json`` (the source of truth)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from dbt_kickoff.terminal_text import strip_control

FAILURE_STATUSES = frozenset({"error", "fail", "runtime error"})


@dataclass(frozen=True)
class NodeResult:
    """The outcome of one dbt node (model, test, seed, snapshot, source freshness...)."""

    model_name: str
    unique_id: str
    resource_type: str
    status: str
    time: float
    message: str | None
    rows_affected: int | None = None
    failures: int | None = None
    thread_id: str | None = None
    started_at: datetime | None = None
    """When dbt started the node (its first timing entry, UTC); ``None`` when dbt reported no timing."""
    completed_at: datetime | None = None
    """When dbt finished the node (its last timing entry, UTC)."""
    compiled_code: str | None = field(default=None, repr=False)
    adapter_response: Mapping[str, Any] = field(default_factory=dict, repr=False)
    reason: str | None = None
    """Why a changed-only call built this node ("code changed", "source raw.orders fresher", ...); ``None``
    in a normal call."""

    @property
    def is_failure(self) -> bool:
        return self.status in FAILURE_STATUSES

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (datetimes as ISO 8601 strings)."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}  # not asdict(): it deep-copies every value
        data["adapter_response"] = dict(self.adapter_response)
        for name in ("started_at", "completed_at"):
            value = data[name]
            data[name] = value.isoformat() if value is not None else None
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NodeResult:
        """The inverse of :meth:`to_dict` (unknown keys are ignored)."""
        known = {f.name for f in fields(cls)}
        values = {key: value for key, value in data.items() if key in known}
        for name in ("started_at", "completed_at"):
            values[name] = parse_timestamp(values.get(name))
        values["adapter_response"] = dict(values.get("adapter_response") or {})
        return cls(**values)


def parse_timestamp(value: Any) -> datetime | None:
    """An ISO 8601 text from dbt (``2026-12-01T10:00:00.123456Z``) as an aware UTC datetime; else ``None``."""
    if isinstance(value, datetime):
        return value
    if not value or not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _timing_bounds(entry: Mapping[str, Any]) -> tuple[datetime | None, datetime | None]:
    """The earliest start and latest end of a run_results entry's ``timing`` list (compile, execute)."""
    starts = [parse_timestamp(t.get("started_at")) for t in entry.get("timing") or ()]
    ends = [parse_timestamp(t.get("completed_at")) for t in entry.get("timing") or ()]
    started = [s for s in starts if s is not None]
    completed = [e for e in ends if e is not None]
    return (min(started) if started else None), (max(completed) if completed else None)


def _node_name(unique_id: str) -> str:
    # model.pkg.name / test.pkg.name.hash / source.pkg.src.table
    parts = unique_id.split(".")
    if parts[0] == "source" and len(parts) >= 4:
        return f"{parts[2]}.{parts[3]}"
    if parts[0] == "test" and len(parts) >= 4:
        return ".".join(parts[2:-1])
    return parts[-1] if len(parts) > 1 else unique_id


def _message(entry: Mapping[str, Any]) -> str | None:
    """dbt's message for a node, without the control sequences a database error may quote from data."""
    message = entry.get("message") or entry.get("error")
    return strip_control(str(message)) if message else None


def node_result_from_artifact(entry: Mapping[str, Any], node_names: Mapping[str, str] | None = None) -> NodeResult:
    """One ``results[]`` entry of run_results.json (or sources.json) -> :class:`NodeResult`."""
    unique_id = str(entry.get("unique_id", ""))
    adapter_response = entry.get("adapter_response") or {}
    rows = adapter_response.get("rows_affected")
    failures = entry.get("failures")
    name = (node_names or {}).get(unique_id) or _node_name(unique_id)
    started_at, completed_at = _timing_bounds(entry)
    return NodeResult(
        model_name=name,
        unique_id=unique_id,
        resource_type=unique_id.split(".", 1)[0] if unique_id else "unknown",
        status=str(entry.get("status", "unknown")),
        time=float(entry.get("execution_time") or 0.0),
        message=_message(entry),
        rows_affected=int(rows) if isinstance(rows, int) else None,
        failures=int(failures) if isinstance(failures, int) else None,
        thread_id=entry.get("thread_id"),
        started_at=started_at,
        completed_at=completed_at,
        compiled_code=entry.get("compiled_code"),
        adapter_response=adapter_response,
    )


def parse_run_results(data: Mapping[str, Any], node_names: Mapping[str, str] | None = None) -> list[NodeResult]:
    """Turn a loaded run_results.json (or sources.json) document into node results, in dbt's order."""
    return [node_result_from_artifact(entry, node_names) for entry in data.get("results", [])]


def load_run_results(path: Path, invocation_id: str | None = None) -> list[NodeResult] | None:
    """Read ``path``; ``None`` when it is absent or was written by another invocation than ``invocation_id``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    if invocation_id and data.get("metadata", {}).get("invocation_id") != invocation_id:
        return None
    return parse_run_results(data)


def describe_failures(command: str, results: Iterable[NodeResult], extra: str | None = None) -> str:
    """A message naming every failing node with dbt's own message."""
    failed = [r for r in results if r.is_failure]
    lines = [f"dbt {command} failed" + (f": {len(failed)} node(s) failed" if failed else "")]
    for r in failed:
        msg = (r.message or "").strip().replace("\n", "\n    ")
        lines.append(f"  - {r.resource_type} {r.model_name} [{r.status}]: {msg}")
    if extra:
        lines.append(extra.strip())
    return "\n".join(lines)
