"""What each dbt node of a step does: its planned status and message, and the times it started and finished.

A step running a node command (build, run, test, seed, snapshot, source freshness) plans one :class:`NodeRun`
per node it executes when it starts; the nodes then start and finish as the step progresses, and the step's
logs and ``run_results.json`` are written from them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from dbt_kickoff_emulator.naming import PROJECT_NAME, SCHEMA, node_name

FAILED = ("error", "fail")


@dataclass
class NodeRun:
    """One node of a step: ``index`` is dbt's "N of M" number (1-based)."""

    unique_id: str
    index: int
    status: str
    message: str | None
    rows: int | None = None
    failures: int | None = None
    thread: str = "Thread-1"
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def kind(self) -> str:
        return self.unique_id.split(".", 1)[0]

    @property
    def name(self) -> str:
        return node_name(self.unique_id)

    @property
    def relation(self) -> str:
        return f"{SCHEMA}.{self.name}"

    @property
    def finished(self) -> bool:
        return self.finished_at is not None

    @property
    def seconds(self) -> float:
        if self.started_at is None or self.finished_at is None:
            return 0.0
        return max(0.0, (self.finished_at - self.started_at).total_seconds())


def _outcome(unique_id: str, position: int, status: str) -> tuple[str | None, int | None, int | None]:
    """``(message, rows, failures)`` of a node ending with ``status``, as dbt reports them."""
    kind, name = unique_id.split(".", 1)[0], node_name(unique_id)
    rows = 3 + position
    if status == "skipped":
        return None, None, None
    if kind == "source":
        return (None if status == "pass" else f"Source {name} is stale"), None, None
    if kind == "test":
        if status == "pass":
            return None, None, 0
        if status in ("fail", "warn"):
            verb = "fail" if status == "fail" else "warn"
            return f"Got 1 result, configured to {verb} if != 0", None, 1
        return f"Database Error in test {name} (models/schema.yml)\n  division by zero", None, None
    if status == "error":
        return (
            f"Database Error in {kind} {name} ({kind}s/{name}.sql)\n"
            '  relation "raw.orders" does not exist\n'
            f"  compiled code at target/run/{PROJECT_NAME}/{kind}s/{name}.sql"
        ), None, None
    return (f"INSERT {rows}" if kind == "seed" else f"SELECT {rows}"), rows, None


def _passing(unique_id: str) -> str:
    return "pass" if unique_id.split(".", 1)[0] in ("test", "source", "unit_test") else "success"


def plan_node_runs(
    executed: Sequence[str], statuses: Mapping[str, str], *, failing: bool, threads: int = 4
) -> list[NodeRun]:
    """The nodes of a step with their outcome: ``statuses`` (unique id -> dbt status) as scripted, every other
    node passes. A ``failing`` step whose script names no failing node fails like dbt on a database error:
    its first model (else its first node) errors and every node after it is skipped."""
    planned = {uid: statuses[uid] for uid in executed if uid in statuses}
    if failing and not any(status in FAILED for status in planned.values()) and executed:
        first = next((uid for uid in executed if uid.startswith("model.")), executed[0])
        after = executed[executed.index(first) + 1:]
        planned = {**planned, first: "error", **dict.fromkeys(after, "skipped")}
    runs = []
    for position, unique_id in enumerate(executed):
        status = planned.get(unique_id) or _passing(unique_id)
        if status == "success" and unique_id.split(".", 1)[0] in ("test", "source"):
            status = "pass"
        message, rows, failures = _outcome(unique_id, position, status)
        runs.append(NodeRun(unique_id, position + 1, status, message, rows, failures,
                            thread=f"Thread-{position % threads + 1}"))
    return runs


def retry_subset(runs: Sequence[NodeRun]) -> list[str]:
    """The nodes ``dbt retry`` runs again after a step: those that failed, were skipped or never finished."""
    return [run.unique_id for run in runs if run.status in (*FAILED, "skipped") or not run.finished]
