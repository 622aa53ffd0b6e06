"""DbtKickoffTaskGroup in real Airflow 3 (``airflow dags test``, SQLite metadata) on a real DuckDB file: a
30-node package rendered from its stored manifest, built by one producer with one dbt process, every node's
task ending with its result in its log and XCom; and a DAG file over a 1,000-model package that parses
without starting dbt."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import duckdb
import pytest
from bench.generate_package import generate_package

import dbt_kickoff
from dbt_kickoff.integrations.airflow.plan import plan_render
from tests.integrations.airflow.conftest import Airflow
from tests.integrations.airflow.package import make_package

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]  # the first test also builds Airflow's venv
NODES_DAGS = Path(__file__).with_name("dags_nodes")
STRUCTURE = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(sys.argv[1])
assert not bag.import_errors, bag.import_errors
dag = bag.get_dag(sys.argv[2])
print(json.dumps({t.task_id: {"upstream": sorted(t.upstream_task_ids), "trigger_rule": str(t.trigger_rule),
                              "start_from_trigger": bool(getattr(t, "start_from_trigger", False))}
                  for t in dag.tasks}))
"""


def parsed_package(folder: Path) -> tuple[Path, Path]:
    """The test package and its DuckDB file, with the manifest dbt parse leaves in target/."""
    warehouse = folder / "warehouse.duckdb"
    package = make_package(folder / "package", warehouse)
    with dbt_kickoff.package(f"duckdb:///{warehouse}", package, records=False) as runner:
        runner.invoke(["parse"])
    return package, warehouse


def built_nodes(package: Path) -> dict[str, str]:
    """name -> resource type of what the package builds (models that are not ephemeral, seeds, snapshots)."""
    manifest = json.loads(next((package / "target").rglob("manifest.json")).read_text())
    return {n["name"]: n["resource_type"] for n in manifest["nodes"].values()
            if n["resource_type"] in ("model", "seed", "snapshot") and n["config"]["materialized"] != "ephemeral"}


def structure(airflow: Airflow, env: dict[str, str], dags: Path, dag_id: str) -> dict[str, dict[str, Any]]:
    done = subprocess.run([str(airflow.venv / "bin" / "python"), "-c", STRUCTURE, str(dags), dag_id], env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-6000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_dags_test_builds_every_node_once_and_each_task_reports_its_own(airflow: Airflow, tmp_path: Path) -> None:
    package, warehouse = parsed_package(tmp_path)
    nodes = built_nodes(package)
    assert len(nodes) == 30 and "int_orders" not in nodes  # the ephemeral model builds nothing
    home = airflow.home(tmp_path)
    extra = {"NODES_PACKAGE": str(package),
             "AIRFLOW_CONN_WAREHOUSE": json.dumps({"conn_type": "duckdb", "host": str(warehouse)})}
    tasks = structure(airflow, airflow.env(home, NODES_DAGS, extra), NODES_DAGS, "dbt_nodes")
    run = airflow.dags_test("dbt_nodes", home, NODES_DAGS, extra)
    states = run.states("dbt_nodes")
    assert set(states) == set(tasks)
    assert {task: state for task, state in states.items() if state != ("success", 1)} == {}, run.output[-8000:]

    # one task per node (the ephemeral one has none), a test task after each node with tests
    node_tasks = {t.removeprefix("dbt.") for t in tasks if t.startswith("dbt.") and t != "dbt.dbt_build"}
    assert set(nodes) <= node_tasks and "int_orders" not in node_tasks
    assert {"fct_orders_test", "seed_0_test", "fragile_test"} <= node_tasks
    # dbt's dependencies: through the ephemeral model, and through the tests of what a node reads
    assert tasks["dbt.fct_orders"]["upstream"] == ["dbt.seed_0_test", "dbt.stg_orders"]
    assert tasks["dbt.fragile"]["upstream"] == ["dbt.fct_orders_test"]
    assert tasks["dbt.fct_orders_test"]["upstream"] == ["dbt.fct_orders"]
    assert tasks["dbt.dbt_build"]["upstream"] == ["load"]
    assert tasks["dbt.stg_orders"] == {"upstream": ["dbt.dbt_build"], "trigger_rule": "always",
                                       "start_from_trigger": True}  # a root waits with the producer
    assert "dbt.after_fragile" in tasks["done"]["upstream"]

    # each node task's result: in its log and its XCom
    fct = run.xcom("dbt_nodes", "dbt.fct_orders", "dbt_results")
    assert [(r["name"], r["type"], r["status"]) for r in fct] == [("fct_orders", "model", "success")]
    tests = run.xcom("dbt_nodes", "dbt.fct_orders_test", "dbt_results")
    assert {(r["name"], r["status"]) for r in tests} == {("unique_fct_orders_id", "pass"),
                                                         ("not_null_fct_orders_id", "pass"),
                                                         ("no_negative_amount", "pass")}
    seed = run.xcom("dbt_nodes", "dbt.seed_0", "dbt_results")
    assert seed[0]["rows"] == 50
    assert "fct_orders (model): success in" in run.output and "seed_0 (seed): success in" in run.output
    assert "orders_snapshot (snapshot): success in" in run.output
    producer = run.xcom("dbt_nodes", "dbt.dbt_build", "dbt_results")
    assert {r["name"] for r in producer} >= set(nodes) and {r["status"] for r in producer} <= {"success", "pass"}

    # one dbt build for all of it: the only run record is the producer's
    records = list((home / "state" / "dbt-kickoff" / "records").glob("*/*/report.json"))
    assert [json.loads(r.read_text())["call"] for r in records] == ["build"]
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        built = {t for (t,) in connection.execute("select table_name from information_schema.tables").fetchall()}
    assert {"fct_orders", "after_fragile", "orders_snapshot", "seed_0"} <= built


def test_a_dag_of_a_thousand_models_parses_without_starting_dbt(airflow: Airflow, tmp_path: Path) -> None:
    package = generate_package(tmp_path / "big", models=1000)
    warehouse = tmp_path / "big.duckdb"
    with dbt_kickoff.package(f"duckdb:///{warehouse}", package, records=False) as runner:
        runner.invoke(["parse"])
        manifest = json.loads((runner.target_path() / "manifest.json").read_text())
    expected_tasks = 1 + len(plan_render(manifest).tasks)

    def dbt_files() -> dict[Path, int]:  # what dbt writes whenever it starts: its log, its target folder
        return {p: p.stat().st_mtime_ns for folder in ("target", "logs") for p in (package / folder).rglob("*")
                if p.is_file()}

    before = dbt_files()
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "big.py").write_text(
        "from datetime import datetime\n"
        "from dbt_kickoff.integrations.airflow import DbtKickoffDag\n"
        f"dag = DbtKickoffDag(dag_id='big', package_location={str(package)!r}, conn_id='warehouse',\n"
        "                    schedule=None, start_date=datetime(2024, 3, 1), catchup=False)\n")
    tripwire = tmp_path / "tripwire"
    (tripwire / "dbt").mkdir(parents=True)
    marker = tmp_path / "dbt-was-imported"
    (tripwire / "dbt" / "__init__.py").write_text(
        f"open({str(marker)!r}, 'w').write('dbt imported')\nraise ImportError('dbt must not start here')\n")
    home = airflow.home(tmp_path)
    extra = {"PYTHONPATH": str(tripwire),
             "AIRFLOW_CONN_WAREHOUSE": json.dumps({"conn_type": "duckdb", "host": str(warehouse)})}
    run = airflow.run(["dags", "report", "--output", "json"], home, dags, extra)
    assert run.returncode == 0, run.output[-6000:]
    report = json.loads(run.output[run.output.index("[{"):])
    assert [(Path(r["file"]).name, r["dags"], int(r["task_num"])) for r in report] == \
        [("big.py", ["big"], expected_tasks)]
    print("parse duration of the 1,000-model DAG file:", report[0]["duration"])
    assert not marker.exists()
    assert dbt_files() == before
