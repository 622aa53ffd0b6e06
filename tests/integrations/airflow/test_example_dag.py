"""The example DAG in real Airflow 3 (``airflow dags test``, SQLite metadata): dlt loads the demo's shop data
into a DuckDB file, then DbtKickoffOperator runs the bundled package on it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import duckdb
import pytest

from dbt_kickoff.demo import DBT_PACKAGE_DIR
from tests.integrations.airflow.conftest import EXAMPLES, Airflow

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]  # the first test also builds Airflow's venv


def test_example_dag_loads_with_dlt_then_transforms(airflow: Airflow, tmp_path: Path) -> None:
    work = tmp_path / "work"
    database = work / "shop.duckdb"
    run = airflow.dags_test("dbt_kickoff_shop", airflow.home(tmp_path), EXAMPLES, {
        "DBT_KICKOFF_EXAMPLE_DIR": str(work),
        "AIRFLOW_CONN_SHOP_DUCKDB": json.dumps({"conn_type": "duckdb", "host": str(database)}),
    })
    assert run.states("dbt_kickoff_shop") == {"load": ("success", 1), "transform": ("success", 1)}, run.output[-8000:]

    results = run.xcom("dbt_kickoff_shop", "transform", "dbt_results")
    assert results == run.xcom("dbt_kickoff_shop", "transform", "return_value")
    by_type: dict[str, dict[str, dict[str, object]]] = {}
    for node in results:
        assert set(node) <= {"unique_id", "name", "type", "status", "time", "rows", "failures", "message"}
        by_type.setdefault(str(node["type"]), {})[str(node["name"])] = node
    models = {p.stem for p in (DBT_PACKAGE_DIR / "models").rglob("*.sql")}
    assert set(by_type["model"]) == models
    assert {n["status"] for n in by_type["model"].values()} == {"success"}
    assert set(by_type["seed"]) == {"country_codes", "currency_rates"}
    assert by_type["test"] and {n["status"] for n in by_type["test"].values()} <= {"pass", "warn"}
    seed_rows = len((DBT_PACKAGE_DIR / "seeds" / "country_codes.csv").read_text().strip().splitlines()) - 1
    assert by_type["seed"]["country_codes"]["rows"] == seed_rows

    with duckdb.connect(str(database), read_only=True) as connection:
        revenue = connection.execute("select count(*), sum(orders) from shop_metrics.daily_revenue").fetchone()
        loaded = connection.execute("select count(*) from raw_shop.orders").fetchone()
    assert revenue is not None and revenue[0] > 0 and revenue[1] > 0
    assert loaded is not None and loaded[0] > 0

    assets = {uri for (uri,) in run.query(
        "select a.uri from asset a join asset_event e on e.asset_id = a.id where e.source_task_id = 'transform'")}
    assert "dbt://duckdb/shop/shop_metrics/daily_revenue" in assets
    assert len(assets) == len(models) + 2  # one per model and seed built


def test_example_task_group_renders_the_demo_package_node_by_node(airflow: Airflow, tmp_path: Path) -> None:
    work = tmp_path / "work"
    env = {"DBT_KICKOFF_EXAMPLE_DIR": str(work),
           "AIRFLOW_CONN_SHOP_DUCKDB": json.dumps({"conn_type": "duckdb", "host": str(work / "shop.duckdb")})}
    home = airflow.home(tmp_path)
    prepared = subprocess.run([str(airflow.venv / "bin" / "python"), str(EXAMPLES / "dbt_kickoff_shop_nodes.py"),
                               "--prepare"], env=airflow.env(home, EXAMPLES, env), capture_output=True, text=True,
                              timeout=600, check=False)
    assert prepared.returncode == 0, prepared.stderr[-4000:]
    run = airflow.dags_test("dbt_kickoff_shop_nodes", home, EXAMPLES, env)
    states = run.states("dbt_kickoff_shop_nodes")
    assert {task: state for task, state in states.items() if state != ("success", 1)} == {}, run.output[-8000:]
    models = {p.stem for p in (DBT_PACKAGE_DIR / "models").rglob("*.sql")}
    assert {f"transform.{m}" for m in models} <= set(states)  # a task per model
    assert "transform.dbt_build" in states and "load" in states
    revenue = run.xcom("dbt_kickoff_shop_nodes", "transform.daily_revenue", "dbt_results")
    assert [(r["name"], r["status"]) for r in revenue] == [("daily_revenue", "success")]
