"""``run_cloud_demo``: dlt load into DuckDB, then a job on the in-process emulator, reported per node."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from dbt_kickoff.demo.cloud_demo import DATASET_NAME, demo_package_nodes, run_cloud_demo


def test_demo_nodes_describe_the_bundled_package() -> None:
    nodes = demo_package_nodes()
    assert "seed.dbt_kickoff_demo.currency_rates" in nodes
    assert "model.dbt_kickoff_demo.daily_revenue" in nodes
    assert "test.dbt_kickoff_demo.assert_revenue_matches_order_items" in nodes
    kinds = [n.split(".")[0] for n in nodes]
    assert kinds == sorted(kinds, key=["seed", "model", "test"].index)
    staging = nodes.index("model.dbt_kickoff_demo.stg_orders")
    assert staging < nodes.index("model.dbt_kickoff_demo.int_orders_enriched")


@pytest.mark.slow
def test_cloud_demo_loads_data_and_reports_every_node(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cloud_demo(tmp_path) == 0
    out = capsys.readouterr().out
    for node in demo_package_nodes():
        assert node.split(".")[-1] in out
    assert "0 failed" in out
    assert "synthetic" in out  # the emulator describes nodes it did not run: the demo says so
    assert "success model     stg_orders" in out  # printed while the run ran, from its logs
    assert len(list((tmp_path / "cloud-records").rglob("report.json"))) == 1  # the run's record
    database = tmp_path / "cloud-demo.duckdb"
    with duckdb.connect(str(database), read_only=True) as con:
        (orders,) = con.execute(f"select count(*) from {DATASET_NAME}.orders").fetchone()
    assert orders > 0
    assert run_cloud_demo(tmp_path) == 0  # a second run starts over instead of appending the same day again
    assert len(list((tmp_path / "cloud-records").rglob("report.json"))) == 2
    with duckdb.connect(str(database), read_only=True) as con:
        assert con.execute(f"select count(*) from {DATASET_NAME}.orders").fetchone() == (orders,)
