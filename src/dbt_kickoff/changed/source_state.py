"""What the sources hold: read now over a short read-only connection (dlt's loads, freshness measured as dbt
would), by ``dbt source freshness`` for what that cannot measure, and as recorded with the good run (a changed-only
call's snapshot, or what a full build read before dbt started)."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from dbt_kickoff.changed.dlt_loads import DltCheck, check_dlt, newest_loads
from dbt_kickoff.changed.loaded_at import count_rows, freshness_sql, measurable_here, measure_loaded_at
from dbt_kickoff.changed.sources import Source, loaded_at_in, sources_of_manifest
from dbt_kickoff.changed.state import State
from dbt_kickoff.changed.warehouse import connect, count_with_dbt
from dbt_kickoff.core.call import Call
from dbt_kickoff.engines.artifacts import read_artifact
from dbt_kickoff.results import parse_timestamp

logger = logging.getLogger("dbt_kickoff.changed")

def loaded_at_snapshot(sources: Sequence[Source], loaded_at: Mapping[str, datetime | None],
                       measured_here: Collection[str], rows: Mapping[str, int | None]) -> dict[str, Any]:
    """``loaded_at`` (unique_id -> ISO time) and, for those measured here, the query (``loaded_at_sql``): a
    value measured with another query (the source's definition changed) is not compared; ``row_counts``."""
    queries = {s.unique_id: freshness_sql(s) for s in sources if s.unique_id in measured_here}
    return {"loaded_at": {uid: value.isoformat() if value else None for uid, value in loaded_at.items()},
            "loaded_at_sql": queries, "row_counts": dict(rows)}


@dataclass
class WarehouseReading:
    """What the decision read over its own connection: dlt's loads, the freshness it could measure as dbt would,
    and the row count of each source with freshness."""

    dlt: DltCheck = field(default_factory=DltCheck)
    loaded_at: dict[str, datetime | None] = field(default_factory=dict)
    rows: dict[str, int | None] = field(default_factory=dict)


def measure_sources_before(call: Call, snapshot: dict[str, Any]) -> None:
    """What a full build keeps before dbt starts, read over a short read-only connection: dlt's newest load of
    each schema, and the freshness and row count of the sources of the manifest dbt left in the target folder
    (none before the first parse: then not recorded)."""
    with connect(call.profile) as warehouse:
        if warehouse is None:
            return
        snapshot["dlt"] = newest_loads(warehouse)
        manifest = call.manifest()
        if manifest is not None:
            sources = sources_of_manifest(manifest)
            loaded_at = measure_loaded_at(warehouse, sources)
            rows = count_rows(warehouse, [s for s in sources if s.has_freshness])
            snapshot.update(loaded_at_snapshot(sources, loaded_at, set(loaded_at), rows))


def ask_warehouse(call: Call, sources: Sequence[Source], state: State | None) -> WarehouseReading:
    """dlt's loads, the freshness and the row counts this process can read, over one short read-only
    connection."""
    previous = state.snapshot.get("dlt") if state is not None else None
    try:
        with connect(call.profile) as warehouse:
            dlt = check_dlt(warehouse, sources, previous)
            others = [s for s in sources if s.unique_id not in dlt.checked]
            return WarehouseReading(dlt, measure_loaded_at(warehouse, others),
                                    count_rows(warehouse, [s for s in others if s.has_freshness]))
    except Exception as exc:  # the warehouse could not be asked: dbt measures freshness, dlt sources are rebuilt
        logger.warning("the warehouse could not be asked for dlt's load ids and freshness (%s): sources are checked "
                       "by dbt's freshness or rebuilt", call.redact(f"{type(exc).__name__}: {exc}"))
        return WarehouseReading()


def recorded_loaded_at(state: State | None, sources: Sequence[Source]) -> dict[str, datetime | None] | None:
    """The freshness the good run recorded (its snapshot; older records: its sources.json), without the values
    measured with another query than the source's now; ``None``: none recorded."""
    if state is None:
        return None
    recorded = state.snapshot.get("loaded_at")
    if not isinstance(recorded, Mapping):
        return loaded_at_in(state.sources) if state.sources is not None else None
    queries = state.snapshot.get("loaded_at_sql") or {}
    now = {s.unique_id: freshness_sql(s) if measurable_here(s) else None for s in sources}
    return {str(uid): parse_timestamp(value) for uid, value in recorded.items()
            if uid not in queries or queries[uid] == now.get(uid)}


def dbt_freshness(call: Call, measured: Sequence[Source]) -> tuple[Path | None, Any]:
    """``dbt source freshness`` for the measured sources; its sources.json (copied to the call's scratch)."""
    selection = [f"source:{s.label}" for s in measured]
    outcome = call.quiet(["source", "freshness", "--select", *selection])
    written = call.target_dir / "sources.json"
    document = read_artifact(written, outcome.invocation_id)
    if document is None:
        return None, None
    kept = call.scratch / "sources.json"
    shutil.copyfile(written, kept)
    return kept, document


def recorded_row_counts(state: State | None) -> dict[str, int | None] | None:
    """The row counts the good run recorded, or ``None`` when it recorded none."""
    if state is None or not isinstance(state.snapshot.get("row_counts"), Mapping):
        return None
    return {str(uid): (int(value) if isinstance(value, int) else None)
            for uid, value in state.snapshot["row_counts"].items()}


def dbt_row_counts(call: Call, sources: Sequence[Source]) -> dict[str, int | None]:
    """The row counts this process could not read itself, asked of dbt in one query (any adapter); ``None``
    for those dbt could not count either."""
    relations = {s.unique_id: s.relation_name for s in sources if s.relation_name}
    return {s.unique_id: None for s in sources} | count_with_dbt(call, relations)
