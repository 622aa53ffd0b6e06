"""DbtKickoffTaskGroup under a running Airflow 3 (api-server, scheduler, triggerer, dag-processor; LocalExecutor,
SQLite metadata) on real DuckDB files: the node tasks wait and end in the triggerer, never in a worker; a failing
model fails its task and what is below it is upstream-failed, its tests unrun; fixed and cleared, only it and
what is below it run, and the retry chain's record merges; a producer killed mid-run leaves no node it did not
build reported successful, and no dbt process behind; a producer marked failed stops dbt and its query."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import psutil
import pytest

import dbt_kickoff
from tests.integrations.airflow.conftest import Airflow
from tests.integrations.airflow.live import LiveAirflow, running
from tests.integrations.airflow.package import break_model, fix_model, make_package

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]
NODES_DAGS = Path(__file__).with_name("dags_nodes")
SCENARIOS = {"RETRY": "warehouse_retry", "SLOW": "warehouse_slow"}


@dataclass
class Scenario:
    package: Path
    warehouse: Path


@dataclass
class Live:
    airflow: LiveAirflow
    scenarios: dict[str, Scenario]
    marker: Path
    records: Path


@pytest.fixture(scope="module")
def live_airflow(airflow: Airflow, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    root = tmp_path_factory.mktemp("live")
    scenarios: dict[str, Scenario] = {}
    env: dict[str, str] = {}
    for name, conn_id in SCENARIOS.items():
        warehouse = root / f"{name.lower()}.duckdb"
        package = make_package(root / name.lower(), warehouse)
        if name == "RETRY":
            break_model(package)
        with dbt_kickoff.package(f"duckdb:///{warehouse}", package, records=False) as runner:
            runner.invoke(["parse"])
        scenarios[name] = Scenario(package, warehouse)
        env[f"{name}_PACKAGE"] = str(package)
        env[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps({"conn_type": "duckdb", "host": str(warehouse)})
    marker = root / "slow-started.csv"
    env["SLOW_MARKER"] = str(marker)
    home = airflow.home(root)
    live = LiveAirflow(airflow.venv, home, NODES_DAGS, env)
    with running(live):
        yield Live(live, scenarios, marker, home / "state" / "dbt-kickoff" / "records")


def board_entries(live: Live, dag_id: str) -> dict[str, dict[str, object]]:
    """node name -> its entry on the DAG's progress board (every run of the DAG)."""
    entries = {}
    for path in (live.records / ".airflow" / dag_id).glob("*/dbt/nodes/*.json"):
        data = json.loads(path.read_text())
        entries[str(data["name"])] = data
    return entries


def dbt_workers(package: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline", "cwd"]):
        cmdline = " ".join(proc.info["cmdline"] or ())
        if "worker_script.py" in cmdline and proc.info["cwd"] and Path(proc.info["cwd"]) == package:
            found.append(proc)
    return found


def records_of(live: Live, project_dir: Path) -> list[dict[str, object]]:
    reports = [json.loads(p.read_text()) for p in live.records.glob("*/*/report.json")]
    return sorted((r for r in reports if r["package"]["project_dir"] == str(project_dir)), key=lambda r: r["name"])


def test_a_failing_model_then_fixed_and_cleared(live_airflow: Live) -> None:
    live, airflow = live_airflow, live_airflow.airflow
    package = live.scenarios["RETRY"].package
    airflow.wait_dag("dbt_nodes_retry")
    run_id = airflow.trigger("dbt_nodes_retry")
    assert airflow.wait_run("dbt_nodes_retry", run_id) == "failed"
    states = airflow.states("dbt_nodes_retry", run_id)
    assert states["dbt.fragile"] == ("failed", 1)
    assert states["dbt.after_fragile"][0] == "upstream_failed" and states["dbt.fragile_test"][0] == "upstream_failed"
    assert states["dbt.dbt_build"] == ("success", 1)  # dbt built what it could: the failure is the node's
    others = {t: s for t, s in states.items() if t not in ("dbt.fragile", "dbt.after_fragile", "dbt.fragile_test",
                                                           "done")}
    assert {s for s in others.values()} == {("success", 1)}, others
    assert states["done"][0] == "upstream_failed"
    # the node tasks never took a worker: they started in the triggerer and ended there
    queued = airflow.task_rows("dbt_nodes_retry", run_id, "queued_dttm")
    assert {task for task, (when,) in queued.items() if when is not None} == {"dbt.dbt_build"}
    fragile = airflow.xcom("dbt_nodes_retry", run_id, "dbt.fragile", "dbt_results")
    assert fragile[0]["status"] == "error" and "no_such_table" in fragile[0]["message"]
    assert board_entries(live, "dbt_nodes_retry")["not_null_fragile_id"]["status"] == "skipped"  # the test: unrun
    [build] = records_of(live, package)

    fix_model(package)
    before = airflow.task_rows("dbt_nodes_retry", run_id, "end_date", "try_number")
    airflow.clear("dbt_nodes_retry", run_id, ["dbt.fragile"], downstream=True)
    assert airflow.wait_run("dbt_nodes_retry", run_id) == "success"
    after = airflow.task_rows("dbt_nodes_retry", run_id, "end_date", "try_number")
    ran_again = {task for task in after if after[task] != before[task]}
    assert ran_again == {"dbt.fragile", "dbt.fragile_test", "dbt.after_fragile", "done"}
    # the fixed node rebuilt itself and what is below it in one dbt command, in a worker: a link of the chain
    records = records_of(live, package)
    assert [r["call"] for r in records] == ["build", "retry"]
    retry = records[-1]
    assert {r["model_name"] for r in retry["steps"][0]["results"]} == {"fragile", "not_null_fragile_id",
                                                                       "after_fragile"}
    assert retry["retry"]["of"].endswith(str(build["name"]))
    merged = {r["model_name"]: r["status"] for r in retry["retry"]["merged"]}
    assert set(merged.values()) == {"success", "pass"} and len(merged) == len(build["steps"][0]["results"])
    assert airflow.xcom("dbt_nodes_retry", run_id, "dbt.fragile", "dbt_results")[0]["status"] == "success"
    assert "fragile (model): success in" in _log(airflow, "dbt_nodes_retry", run_id, "dbt.fragile")


def _log(airflow: LiveAirflow, dag_id: str, run_id: str, task_id: str) -> str:
    folder = airflow.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
    return "".join(path.read_text(errors="replace") for path in sorted(folder.glob("*.log*")))


def _wait_for(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout}s"
        time.sleep(0.5)


def test_a_producer_killed_mid_run_reports_no_node_it_did_not_build(live_airflow: Live) -> None:
    live, airflow = live_airflow, live_airflow.airflow
    package = live.scenarios["SLOW"].package
    live.marker.unlink(missing_ok=True)
    airflow.wait_dag("dbt_nodes_slow")
    run_id = airflow.trigger("dbt_nodes_slow")
    _wait_for(live.marker.exists, 600, "the slow model's start")
    [worker] = dbt_workers(package)
    task = worker.parent()  # the producer's task process (its supervisor is above it)
    assert task is not None
    task.send_signal(signal.SIGKILL)
    assert airflow.wait_run("dbt_nodes_slow", run_id) == "failed"
    states = airflow.states("dbt_nodes_slow", run_id)
    built = {name for name, entry in board_entries(live, "dbt_nodes_slow").items() if entry["status"] in
             ("success", "pass")}
    assert states["dbt.dbt_build"][0] == "failed"
    assert states["dbt.slow"][0] == "failed"  # reached, never finished
    succeeded = {task.removeprefix("dbt.") for task, (state, _) in states.items()
                 if state == "success" and task.startswith("dbt.")}
    assert succeeded and succeeded <= built | {f"{n}_test" for n in built}  # nothing it did not build
    assert {state for task, (state, _) in states.items() if task.removeprefix("dbt.") not in succeeded
            and task not in ("load", "done")} <= {"failed", "upstream_failed"}
    _wait_for(lambda: not dbt_workers(package), 60, "the dbt worker's exit")


def test_a_producer_marked_failed_stops_dbt_and_its_query(live_airflow: Live) -> None:
    live, airflow = live_airflow, live_airflow.airflow
    scenario = live.scenarios["SLOW"]
    live.marker.unlink(missing_ok=True)
    airflow.wait_dag("dbt_nodes_slow")
    run_id = airflow.trigger("dbt_nodes_slow")
    _wait_for(live.marker.exists, 600, "the slow model's start")
    assert dbt_workers(scenario.package)
    airflow.patch_task("dbt_nodes_slow", run_id, "dbt.dbt_build", "failed")
    _wait_for(lambda: not dbt_workers(scenario.package), 120, "the dbt worker's exit")
    assert airflow.wait_run("dbt_nodes_slow", run_id) == "failed"
    with duckdb.connect(str(scenario.warehouse)) as connection:  # the query is gone: the file is free
        assert connection.execute("select 1").fetchone() == (1,)
    states = airflow.states("dbt_nodes_slow", run_id)
    assert states["dbt.slow"][0] == "failed" and states["dbt.dbt_build"][0] == "failed"
    assert "task killed: cancelling dbt" in _log(airflow, "dbt_nodes_slow", run_id, "dbt.dbt_build")
