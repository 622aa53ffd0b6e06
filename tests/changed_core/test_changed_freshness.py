"""A source with ``loaded_at_field`` and a freshness threshold (loaded by plain SQL, not dlt): dbt measures it;
only what is downstream of a fresher source is built."""

from __future__ import annotations

from pathlib import Path

import duckdb

import dbt_kickoff
from dbt_kickoff.records import open_record
from tests.changed_core.conftest import MODELS, edit, models_of, shop_copy
from tests.changed_core.tables import duckdb_differences
from tests.core.conftest import load_orders_duckdb

FRESHNESS = """        loaded_at_field: "cast(created_at as timestamp)"
        freshness:
          warn_after: {count: 10000, period: day}
        columns:"""


def test_fresher_source_rebuilds_its_downstream(tmp_path: Path) -> None:
    project = shop_copy(tmp_path)
    edit(project / "models" / "sources.yml", "        columns:", FRESHNESS)
    database = tmp_path / "warehouse.duckdb"
    load_orders_duckdb(database)
    records = tmp_path / "records"

    def runner(dataset: str = "live", keep: bool = True) -> dbt_kickoff.PackageRunner:
        return dbt_kickoff.package(f"duckdb:///{database}", project, dataset_name=dataset,
                                   source_dataset_name="raw_data", records=records if keep else False)

    with runner() as live:
        live.build(changed_only=True)
        assert live.build(changed_only=True) == []  # measured, not fresher: nothing runs
        changes = live.last_report.changed
        # measured by this process (the query dbt would send): no dbt command in the decision
        assert changes is not None and not changes.dbt_started and changes.reasons == {}
        assert list(changes.snapshot["loaded_at"].values()) == ["2026-11-28T00:00:00+00:00"]

        with duckdb.connect(str(database)) as con:
            con.execute("insert into raw_data.orders values (500, 'FR', 5.0, '2026-11-30')")
        results = live.build(changed_only=True)
    assert models_of(results) == {name: "source raw.orders fresher"
                                  for name in ("stg_orders", "revenue_by_country", "orders_incremental")}
    assert any(r.model_name == "source_unique_raw_orders_id" for r in results)  # the source's tests too
    with runner("full", keep=False) as full:
        full.build()
    assert duckdb_differences(database, MODELS, "live", "full") == {}


def test_full_builds_record_freshness_with_the_query_that_measured_it(tmp_path: Path) -> None:
    project = shop_copy(tmp_path)
    sources = project / "models" / "sources.yml"
    edit(sources, "        columns:", FRESHNESS)
    database = tmp_path / "warehouse.duckdb"
    load_orders_duckdb(database)
    with dbt_kickoff.package(f"duckdb:///{database}", project, dataset_name="live", source_dataset_name="raw_data",
                             records=tmp_path / "records") as live:
        live.build()  # the first parse happens in this build: nothing measured before it
        assert set(models_of(live.build(changed_only=True)).values()) == {
            "source raw.orders cannot be checked (no freshness recorded with the last good run)"}
        live.build()  # measured before dbt started, with the manifest left in the target folder
        before = open_record("latest", tmp_path / "records").data["sources_before"]
        assert before["loaded_at"] == {"source.shop.raw.orders": "2026-11-28T00:00:00+00:00"}
        assert live.build(changed_only=True) == []

        # the filter changes, then a full build measures with the manifest of before the change (the old query):
        # that value is not compared with the new query's, what reads the source is built once more
        edit(sources, "warn_after: {count: 10000, period: day}",
             "warn_after: {count: 10000, period: day}\n          filter: id > 10")
        live.build()
        results = live.build(changed_only=True)
        assert models_of(results) == {name: "source raw.orders fresher"
                                      for name in ("stg_orders", "revenue_by_country", "orders_incremental")}
        assert live.build(changed_only=True) == []
