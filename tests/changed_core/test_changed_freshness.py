"""A source with ``loaded_at_field`` and a freshness threshold (loaded by plain SQL, not dlt): dbt measures it;
only what is downstream of a fresher source is built."""

from __future__ import annotations

from pathlib import Path

import duckdb

import dbt_kickoff
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
