"""Find, in the run records, the last complete good run of the same package, target, vars and dbt version,
and the runs since then that may have changed tables (their results are composed into dbt's ``--state``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
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
    unfinished = store.unfinished()
    for name in reversed(store.names()):
        if name in unfinished:
            continue
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
            killed = _killed_since(unfinished, name, identity)
            if killed:
                return History(None, why=f"the run {killed} was stopped before its record was complete (killed, "
                                        "or still running elsewhere): it may have changed any table")
            later.reverse()
            return History(record, later)
        later.append(record)
    if not seen_target:
        return History(None, why="first run (no record of this package and target)")
    return History(None, why="no complete successful build of this package and target in the records")


def _killed_since(unfinished: Mapping[str, bytes | None], baseline: str, identity: RecordIdentity) -> str | None:
    """A call of the same target that started dbt after the baseline and left no record (killed, or running)."""
    for name in sorted(unfinished, reverse=True):
        if name <= baseline:
            break
        try:
            started = json.loads(unfinished[name] or b"")
            target_key = RecordIdentity.from_dict(started["identity"]).target_key
        except (ValueError, KeyError, TypeError):
            return name  # unreadable: it may have been of this target
        if target_key == identity.target_key and started["identity"].get("package_key") == identity.package_key:
            return name
    return None
