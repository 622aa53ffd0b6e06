"""Small dbt manifests written by hand, for the tests of what is worked out from a manifest without dbt."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

PROJECT = "shop"


def node(kind: str, name: str, *, parents: Iterable[str] = (), folder: str = "", tags: Iterable[str] = (),
         materialized: str | None = None, package: str = PROJECT, attached: str | None = None,
         test_name: str | None = None, **extra: Any) -> dict[str, Any]:
    """One manifest node; ``parents`` are unique ids; ``folder`` is under models/ (seeds/, snapshots/...)."""
    root = {"model": "models", "seed": "seeds", "snapshot": "snapshots", "test": "tests"}.get(kind, "models")
    path = "/".join(part for part in (root, folder, f"{name}.{'csv' if kind == 'seed' else 'sql'}") if part)
    fqn = [package, *[p for p in folder.split("/") if p], name]
    data: dict[str, Any] = {
        "unique_id": f"{kind}.{package}.{name}" + (".abc123" if kind == "test" else ""),
        "name": name, "resource_type": kind, "package_name": package, "fqn": fqn,
        "original_file_path": path, "tags": list(tags),
        "config": {"materialized": materialized or {"model": "view", "seed": "seed", "snapshot": "snapshot",
                                                   "test": "test"}.get(kind, kind), "tags": list(tags)},
        "depends_on": {"nodes": list(parents)}, "database": "warehouse", "schema": "analytics",
        "alias": name,
    }
    if kind == "test":
        data["attached_node"] = attached
        data["test_metadata"] = {"name": test_name} if test_name else None
    data.update(extra)
    return data


def manifest(nodes: Iterable[Mapping[str, Any]], *, sources: Iterable[Mapping[str, Any]] = (),
             selectors: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {"metadata": {"project_name": PROJECT, "dbt_version": "1.11.0"},
            "nodes": {n["unique_id"]: dict(n) for n in nodes},
            "sources": {s["unique_id"]: dict(s) for s in sources},
            "selectors": dict(selectors or {})}


def source(source_name: str, table: str) -> dict[str, Any]:
    return {"unique_id": f"source.{PROJECT}.{source_name}.{table}", "name": table, "source_name": source_name,
            "resource_type": "source", "package_name": PROJECT, "fqn": [PROJECT, source_name, table],
            "original_file_path": "models/sources.yml", "tags": [], "config": {}, "depends_on": {"nodes": []}}


def shop() -> dict[str, Any]:
    """A package with a source, a seed, staging models (one ephemeral), marts, a snapshot, tests of one parent,
    a relationships test (two parents), a source test, a singular test and a YAML selector::

        raw.orders ─► stg_orders ─► int_orders (ephemeral) ─► fct_orders ─► rpt_revenue
        countries (seed) ─────────────────────────────────────┘
        stg_orders ─► orders_snapshot
    """
    raw = source("raw", "orders")
    countries = node("seed", "countries", tags=["reference"])
    stg = node("model", "stg_orders", parents=[raw["unique_id"]], folder="staging", tags=["daily"])
    intermediate = node("model", "int_orders", parents=[stg["unique_id"]], folder="staging", materialized="ephemeral")
    fct = node("model", "fct_orders", parents=[intermediate["unique_id"], countries["unique_id"]], folder="marts",
               tags=["daily", "finance"], materialized="table")
    rpt = node("model", "rpt_revenue", parents=[fct["unique_id"]], folder="marts", tags=["finance"])
    snap = node("snapshot", "orders_snapshot", parents=[stg["unique_id"]])
    tests = [
        node("test", "unique_stg_orders_id", parents=[stg["unique_id"]], attached=stg["unique_id"],
             test_name="unique"),
        node("test", "not_null_fct_orders_id", parents=[fct["unique_id"]], attached=fct["unique_id"],
             test_name="not_null"),
        node("test", "relationships_fct_orders_country", parents=[fct["unique_id"], countries["unique_id"]],
             attached=fct["unique_id"], test_name="relationships"),
        node("test", "source_not_null_raw_orders_id", parents=[raw["unique_id"]], test_name="not_null"),
        node("test", "no_negative_revenue", parents=[rpt["unique_id"]]),
    ]
    return manifest([countries, stg, intermediate, fct, rpt, snap, *tests], sources=[raw],
                    selectors={"finance": {"name": "finance", "definition": {
                        "union": [{"method": "tag", "value": "finance"}, {"exclude": [{"method": "fqn",
                                                                                         "value": "rpt_revenue"}]}]}},
                               "staging_up": {"name": "staging_up", "definition": {
                                   "method": "path", "value": "models/staging", "children": True}}})


def uid(kind: str, name: str) -> str:
    return f"{kind}.{PROJECT}.{name}" + (".abc123" if kind == "test" else "")
