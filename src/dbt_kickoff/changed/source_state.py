"""What the sources hold: read now over a short read-only connection (dlt's loads, freshness measured as dbt
would), by ``dbt source freshness`` for what that cannot measure, and as recorded with the good run (a changed-only
call's snapshot, or what a full build read before dbt started)."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dbt_kickoff.changed.dlt_loads import DltCheck, check_dlt, newest_loads
from dbt_kickoff.changed.loaded_at import freshness_sql, measurable_here, measure_loaded_at
from dbt_kickoff.changed.selection import SELECTION_FLAGS
from dbt_kickoff.changed.sources import Source, loaded_at_in, sources_of_manifest
from dbt_kickoff.changed.state import State
from dbt_kickoff.changed.warehouse import connect
from dbt_kickoff.results import parse_timestamp

if TYPE_CHECKING:
    from dbt_kickoff.runner import PackageRunner

logger = logging.getLogger("dbt_kickoff.changed")


def note_sources_before(runner: PackageRunner, cmd_params: Sequence[str], dataset: str | None) -> None:
    """Before a full build that leaves a record: keep in it dlt's newest load of each schema and the freshness
    of the sources of the manifest dbt left in the target folder (each with the query that measured it), so that
    the next changed-only call rebuilds only what received data since. Best effort, without dbt."""
    recorder = runner._recorder
    if recorder is None or any(str(arg).split("=", 1)[0] in SELECTION_FLAGS for arg in cmd_params):
        return
    try:
        with connect(runner.profile) as warehouse:
            if warehouse is None:
                return
            recorder.sources_before = {"dlt": newest_loads(warehouse)}
            manifest = current_manifest(runner, dataset)  # none before the first parse: freshness not recorded
            if manifest is not None:
                sources = sources_of_manifest(manifest)
                loaded_at = measure_loaded_at(warehouse, sources)
                recorder.sources_before.update(loaded_at_snapshot(sources, loaded_at, set(loaded_at)))
    except Exception as exc:  # the next changed-only call then rebuilds what reads these sources
        logger.info("the sources' state was not recorded (%s)", runner._redact(f"{type(exc).__name__}: {exc}"))


def loaded_at_snapshot(sources: Sequence[Source], loaded_at: Mapping[str, datetime | None],
                        measured_here: Collection[str]) -> dict[str, Any]:
    """``loaded_at`` (unique_id -> ISO time) and, for those measured here, the query (``loaded_at_sql``): a
    value measured with another query (the source's definition changed) is not compared."""
    queries = {s.unique_id: freshness_sql(s) for s in sources if s.unique_id in measured_here}
    return {"loaded_at": {uid: value.isoformat() if value else None for uid, value in loaded_at.items()},
            "loaded_at_sql": queries}


def ask_warehouse(runner: PackageRunner, sources: Sequence[Source], state: State | None
                   ) -> tuple[DltCheck, dict[str, datetime | None]]:
    """dlt's loads and the freshness this process can measure, over one short read-only connection."""
    previous = state.snapshot.get("dlt") if state is not None else None
    try:
        with connect(runner.profile) as warehouse:
            dlt = check_dlt(warehouse, sources, previous)
            return dlt, measure_loaded_at(warehouse, [s for s in sources if s.unique_id not in dlt.checked])
    except Exception as exc:  # the warehouse could not be asked: dbt measures freshness, dlt sources are rebuilt
        logger.warning("the warehouse could not be asked for dlt's load ids and freshness (%s): sources are checked "
                       "by dbt's freshness or rebuilt", runner._redact(f"{type(exc).__name__}: {exc}"))
        return DltCheck(), {}


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


def dbt_freshness(runner: PackageRunner, measured: Sequence[Source], scratch: Path,
               additional_vars: Mapping[str, Any] | None, dataset: str | None) -> tuple[Path | None, Any]:
    """``dbt source freshness`` for the measured sources; its sources.json (copied to ``scratch``)."""
    selection = [f"source:{s.label}" for s in measured]
    outcome = runner._run_quietly(["source", "freshness", "--select", *selection], additional_vars=additional_vars,
                                  dataset=dataset)
    written = runner.target_path(dataset) / "sources.json"
    try:
        document = json.loads(written.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, None
    if outcome.invocation_id and (document.get("metadata") or {}).get("invocation_id") != outcome.invocation_id:
        return None, None
    kept = scratch / "sources.json"
    shutil.copyfile(written, kept)
    return kept, document


def current_manifest(runner: PackageRunner, dataset: str | None) -> dict[str, Any] | None:
    path = runner.target_path(dataset) / "manifest.json"
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None
