"""Find, in the run records, the last complete good run of the same package, target, vars and dbt version,
and the runs since then that may have changed tables (their results are composed into dbt's ``--state``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.records.identity import RecordIdentity
from dbt_kickoff.records.identity import is_complete as complete_call
from dbt_kickoff.records.reading import Record, load_record
from dbt_kickoff.records.store import RecordStore

WRITING_CALLS = frozenset({"run_all", "build", "run", "seed", "snapshot", "transform_loaded", "retry", "invoke"})
"""Calls that may change tables (``test``, ``source_freshness`` and ``deps`` do not)."""


@dataclass
class History:
    """``baseline``: the last complete good run (``None``: see ``why``); ``later``: the runs since, oldest first."""

    baseline: Record | None
    later: list[Record] = field(default_factory=list)
    why: str | None = None


def is_complete(record: Record) -> bool:
    """See :func:`dbt_kickoff.records.identity.is_complete`."""
    return complete_call(record.data)


def _difference(ours: RecordIdentity, theirs: RecordIdentity) -> str:
    if theirs.dbt_version != ours.dbt_version:
        return f"dbt version changed ({theirs.dbt_version} -> {ours.dbt_version})"
    return "vars changed"


def find_history(store: RecordStore, identity: RecordIdentity) -> History:
    """Walk the records newest first until the last complete good run of ``identity``'s state key."""
    later: list[Record] = []
    seen_target = False
    for name in reversed(store.names()):
        try:
            record = load_record(store, name)
        except ConfigurationError:
            return History(None, why=f"the record {name} is unreadable")
        theirs = record.identity
        if theirs.package_key != identity.package_key or theirs.target_key != identity.target_key:
            continue
        seen_target = True
        if record.data.get("call") not in WRITING_CALLS:
            continue
        if theirs.state_key != identity.state_key:
            return History(None, why=f"{_difference(identity, theirs)} since the run {name}")
        if is_complete(record):
            killed = _killed_since(store, name)
            if killed:
                return History(None, why=f"the run {killed} was killed before its record was complete")
            later.reverse()
            return History(record, later)
        later.append(record)
    if not seen_target:
        return History(None, why="first run (no record of this package and target)")
    return History(None, why="no complete successful build of this package and target in the records")


def _killed_since(store: RecordStore, baseline: str) -> str | None:
    """A local record left half-written after the baseline: that run was killed and may have built tables."""
    root = store.local_root
    if root is None or not root.is_dir():
        return None
    names = sorted(p.name.removeprefix(".partial-") for p in root.glob(".partial-*") if p.is_dir())
    return next((name for name in reversed(names) if name > baseline), None)
