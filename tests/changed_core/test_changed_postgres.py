"""Changed-only builds on PostgreSQL, fed by dlt: nothing changed starts no dbt; a changed model rebuilds only
itself and what depends on it; the tables equal a full build's."""

from __future__ import annotations

from pathlib import Path

import pytest

import dbt_kickoff
from tests.changed_core.conftest import MODELS, edit, models_of, order_rows, shop_copy
from tests.changed_core.tables import postgres_differences
from tests.core.conftest import ORDERS
from tests.postgres_server import PostgresServer


def test_postgres_changed_only(postgres: PostgresServer, tmp_path: Path) -> None:
    dlt = pytest.importorskip("dlt")
    pipeline = dlt.pipeline("changed_pg", destination=dlt.destinations.postgres(postgres.url()),
                            dataset_name="raw_changed", pipelines_dir=str(tmp_path / "pipelines"))
    pipeline.run(order_rows(ORDERS), table_name="orders")
    project = shop_copy(tmp_path)
    records = tmp_path / "records"

    def runner(dataset: str, **kwargs: object) -> dbt_kickoff.PackageRunner:
        return dbt_kickoff.package(pipeline, project, dataset_name=dataset, records=records,
                                   **kwargs)  # type: ignore[arg-type]

    with runner("changed_live") as live:
        first = live.build(changed_only=True)
        assert {r.reason for r in first} == {
            "no usable previous run: first run (no record of this package and target)"}
    with runner("changed_live", warm_start=False) as live:
        assert live.build(changed_only=True) == []
        assert live.session.engine is None  # dlt's load ids were read without dbt
        edit(project / "models" / "stg_orders.sql", "select id,", "select id + 0 as id,")
        results = live.build(changed_only=True)
    assert models_of(results) == {name: "code changed"
                                  for name in ("stg_orders", "revenue_by_country", "orders_incremental")}
    with dbt_kickoff.package(pipeline, project, dataset_name="changed_full", records=False) as full:
        full.build()
    assert postgres_differences(postgres.url(), MODELS, "changed_live", "changed_full") == {}
    assert all(postgres.password not in p.read_text(errors="ignore") for p in records.rglob("*") if p.is_file())
