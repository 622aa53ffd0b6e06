"""Airflow asset URIs for the relations a dbt command built (read from the package's manifest).

Each successful model, seed or snapshot becomes ``dbt://<destination type>/<database>/<schema>/<identifier>``
(lower case), e.g. ``dbt://duckdb/shop/shop_metrics/daily_revenue``, named ``database.schema.identifier``, so
downstream DAGs can be scheduled on a table with ``Asset("dbt://duckdb/shop/shop_metrics/daily_revenue")``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from dbt_kickoff.results import NodeResult

BUILT_TYPES = frozenset({"model", "seed", "snapshot"})
BUILT_STATUSES = frozenset({"success"})


@dataclass(frozen=True)
class BuiltRelation:
    """One relation a dbt node wrote: the asset's ``uri`` and ``name``, and the node it came from."""

    uri: str
    name: str
    unique_id: str


def built_relations(manifest_path: Path, results: Iterable[NodeResult], destination_type: str) -> list[BuiltRelation]:
    """The relations of the successful model/seed/snapshot ``results``, as the manifest at ``manifest_path`` names
    them (nodes the manifest does not know are left out)."""
    built = [r for r in results if r.resource_type in BUILT_TYPES and r.status in BUILT_STATUSES]
    if not built or not manifest_path.is_file():
        return []
    nodes = json.loads(manifest_path.read_text(encoding="utf-8")).get("nodes", {})
    relations = []
    for result in built:
        node = nodes.get(result.unique_id)
        if not node:
            continue
        parts = [str(node.get("database") or ""), str(node.get("schema") or ""),
                 str(node.get("alias") or node.get("identifier") or node.get("name"))]
        parts = [p.lower() for p in parts if p]
        relations.append(BuiltRelation(uri=f"dbt://{destination_type}/{'/'.join(parts)}", name=".".join(parts),
                                       unique_id=result.unique_id))
    return relations
