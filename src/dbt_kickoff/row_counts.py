"""Opt-in row counts (``package(..., row_counts=True)``): ``NodeResult.rows_affected`` for the models whose adapter
reports none (dbt-duckdb's tables and views, for one; dbt v2's 0 for a table or view it rebuilt whole), counted
once the step that built them is done.

Counted over a short read-only connection from this process (DuckDB files, PostgreSQL), else with one ``dbt
show`` for the whole step. A view is counted by running it, so the option is off by default: it costs one
``count(*)`` per model (see ``bench/`` for the measured cost).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from dbt_kickoff.changed.warehouse import connect, count_with_dbt
from dbt_kickoff.core.call import Call, CallHooks
from dbt_kickoff.reports import StepReport
from dbt_kickoff.results import NodeResult

logger = logging.getLogger("dbt_kickoff")

COUNTED_STATUSES = frozenset({"success"})


class RowCounts(CallHooks):
    """Fills ``rows_affected`` of the models a step built that have none (see the module docstring)."""

    name = "row counter"

    def step_done(self, call: Call, step: StepReport) -> None:
        manifest = call.manifest() or {}
        v2 = (call.dbt_version or "").startswith("2.")
        wanted = [r for r in step.results if r.resource_type == "model" and r.status in COUNTED_STATUSES
                  and (r.rows_affected is None or (v2 and r.rows_affected == 0 and _replaced(manifest, r)))]
        if not wanted:
            return
        relations = _relations(manifest, wanted)
        if not relations:
            return
        counts = _count_here(call, relations)
        missing = {uid: name for uid, name in relations.items() if counts.get(uid) is None}
        if missing:
            counts.update(count_with_dbt(call, missing))
        counted = {r.unique_id for r in wanted}
        step.results[:] = [dataclasses.replace(r, rows_affected=counts[r.unique_id])
                           if r.unique_id in counted and counts.get(r.unique_id) is not None else r
                           for r in step.results]


def _replaced(manifest: Mapping[str, Any], result: NodeResult) -> bool:
    """A table or view dbt v2 rebuilt whole (``CREATE … AS``): its reported 0 rows says nothing."""
    node = (manifest.get("nodes") or {}).get(result.unique_id) or {}
    return (node.get("config") or {}).get("materialized") in ("table", "view")


def _relations(manifest: Mapping[str, Any], results: Sequence[NodeResult]) -> dict[str, str]:
    """unique_id -> relation name of each result's model (ephemeral models have none)."""
    nodes = manifest.get("nodes") or {}
    found: dict[str, str] = {}
    for result in results:
        node = nodes.get(result.unique_id) or {}
        relation = node.get("relation_name")
        if relation and (node.get("config") or {}).get("materialized") != "ephemeral":
            found[result.unique_id] = str(relation)
    return found


def _count_here(call: Call, relations: Mapping[str, str]) -> dict[str, int | None]:
    counts: dict[str, int | None] = {}
    try:
        with connect(call.profile) as warehouse:
            if warehouse is None:
                return counts
            for uid, relation in relations.items():
                try:
                    rows = warehouse.query(f"select count(*) from {relation}")
                    counts[uid] = int(rows[0][0]) if rows else None
                except Exception as exc:  # counted by dbt instead
                    logger.debug("rows of %s not counted here: %s", relation, type(exc).__name__)
    except Exception as exc:
        logger.info("row counts: the warehouse could not be asked (%s)", call.redact(f"{type(exc).__name__}: {exc}"))
    return counts
