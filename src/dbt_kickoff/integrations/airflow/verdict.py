"""What a node task makes of the board: wait, succeed, fail, or rebuild its nodes itself. Pure: the same rules
serve the trigger in Airflow's triggerer and the task in a worker (``airflow dags test``).

The rules, for a task reflecting some nodes, on its try ``try_number``:

- every node has a result of the producer's current generation, and each one is ok: **success**;
- the producer may still deliver (it runs, waits to start, or is up for retry): **wait** — except that a node
  that failed in the producer's last attempt fails at once (no later attempt will change it);
- the producer is done (Airflow says it ended, or the board says its last attempt ended, or its heartbeat
  stopped and Airflow cannot be asked):

  - a node failed: **fail** on the task's first try; on a later try (a retry, a clear) **rebuild** it;
  - a node was skipped (dbt skipped it for a failure upstream, which has since been fixed — else this task
    would be upstream-failed and not run): **rebuild**;
  - a node has no result (the producer stopped or died before reaching it): **fail** on the first try, never
    success; **rebuild** on a later try.

``airflow_state`` is the producer task's state as Airflow has it (``None`` when it cannot be asked). A producer
waiting for its next try after a successful build (a clear) starts a new generation: until it runs, the old
results are not taken.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from dbt_kickoff.integrations.airflow.board import FINISHED, SUCCESS, NodeEntry, Snapshot

WAIT, DONE, FAIL, REBUILD = "wait", "success", "fail", "rebuild"
TERMINAL_STATES = frozenset({"success", "failed", "upstream_failed", "skipped", "removed"})
RUNNING_STATES = frozenset({"running", "deferred"})


@dataclass(frozen=True)
class Verdict:
    action: str
    """``wait``, ``success``, ``fail`` or ``rebuild``."""
    entries: tuple[NodeEntry, ...] = ()
    """The results found for the task's nodes (current generation)."""
    message: str = ""


def decide(snapshot: Snapshot, unique_ids: Sequence[str], *, airflow_state: str | None, try_number: int,
           now: float | None = None) -> Verdict:
    """See the module docstring."""
    now = time.time() if now is None else now
    producer = snapshot.producer
    pending_rerun = (airflow_state is not None and airflow_state not in TERMINAL_STATES | RUNNING_STATES
                     and producer is not None and producer.state == SUCCESS)
    found = {uid: entry for uid in unique_ids if (entry := snapshot.current(uid)) is not None}
    entries = tuple(found[uid] for uid in unique_ids if uid in found)
    if not pending_rerun and len(found) == len(unique_ids) and all(entry.ok for entry in entries):
        return Verdict(DONE, entries)
    failed = [entry for entry in entries if entry.failed]
    if not _producer_done(snapshot, airflow_state, now):
        last_attempt = producer.attempt if producer is not None and producer.final and not producer.ended \
            and not pending_rerun else None
        if failed and last_attempt is not None and all(entry.attempt == last_attempt for entry in failed):
            return Verdict(FAIL, entries, _failure(failed))
        return Verdict(WAIT, entries)
    if failed:
        if try_number <= 1:
            return Verdict(FAIL, entries, _failure(failed))
        return Verdict(REBUILD, entries, f"rebuilding (try {try_number}): {_failure(failed)}")
    skipped = [entry for entry in entries if entry.skipped]
    if skipped:
        names = ", ".join(entry.name for entry in skipped)
        return Verdict(REBUILD, entries, f"rebuilding {names}: dbt skipped it, and what it waits for is now done")
    missing = [uid for uid in unique_ids if uid not in found]
    why = _why_missing(snapshot, airflow_state)
    if try_number <= 1:
        return Verdict(FAIL, entries, f"{_names(missing)} not built: {why}")
    return Verdict(REBUILD, entries, f"rebuilding (try {try_number}) {_names(missing)}, not built: {why}")


def _producer_done(snapshot: Snapshot, airflow_state: str | None, now: float) -> bool:
    """The producer will deliver nothing more for this generation."""
    if airflow_state is not None:
        return airflow_state in TERMINAL_STATES
    producer = snapshot.producer
    if producer is None:
        return False
    return (producer.ended and producer.final) or producer.stale(now)


def _why_missing(snapshot: Snapshot, airflow_state: str | None) -> str:
    producer = snapshot.producer
    if producer is None:
        return f"the producer did not run (its task is {airflow_state or 'unknown'})"
    if producer.state in (SUCCESS, FINISHED):
        return "the producer's build finished without it (dbt's selection left it out)"
    detail = f": {producer.message}" if producer.message else ""
    state = producer.state if producer.ended else f"died ({airflow_state or 'no heartbeat'})"
    return f"the producer {state} before reaching it{detail}"


def _failure(failed: Sequence[NodeEntry]) -> str:
    return "; ".join(entry.summary() for entry in failed)


def _names(unique_ids: Sequence[str]) -> str:
    return ", ".join(uid.split(".")[-1] if not uid.startswith("test.") else uid.split(".")[-2] for uid in unique_ids)
