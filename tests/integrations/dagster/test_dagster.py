"""Dagster 1.13, in its own venv: ``dagster.materialize()`` of the asset factory on a real DuckDB package.

Each scenario runs ``materialize_script.py`` with the Dagster venv's interpreter and checks what it reports.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import duckdb
import psutil
import pytest

from dbt_kickoff.environments.venv import Venv
from tests.fusion.conftest import PACKAGE as V2_PACKAGE
from tests.fusion.conftest import fusion_duckdb_drivers, fusion_venv  # noqa: F401 (fixtures)
from tests.fusion.driver import FUSION_VERSION
from tests.integrations.conftest import run_script
from tests.integrations.venvs import orchestrator_python
from tests.slow_sql import slow_duckdb_model

SCRIPT = Path(__file__).with_name("materialize_script.py")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]  # minutes each on a busy 2-core machine

GATED_MODEL = '''
import os
import time


def model(dbt, session):
    dbt.config(materialized="table")
    upstream = dbt.ref("revenue_by_country")
    deadline = time.time() + 300
    while not os.path.exists({gate!r}):  # opened by the test once Dagster has revenue_by_country's result
        if time.time() > deadline:
            raise RuntimeError("the gate was never opened: revenue_by_country was not reported while dbt ran")
        time.sleep(0.2)
    return upstream.aggregate("count(*) as countries")
'''


@pytest.fixture(scope="module")
def dagster_python() -> Path:
    return orchestrator_python("dagster", ["dagster==1.13.*"], extras=("emulator",))  # the dbt Cloud scenario


def materializations(run: dict[str, Any]) -> list[str]:
    return [e["key"] for e in run["events"] if e["type"] == "materialization"]


def checks(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["check"]: e for e in run["events"] if e["type"] == "check"}


def test_materialize_streams_one_result_per_node_as_dbt_finishes_it(
    dagster_python: Path, shop: dict[str, str], tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    Path(shop["package"], "models", "gated.py").write_text(GATED_MODEL.format(gate=str(gate)))

    out = run_script(dagster_python, SCRIPT, "stream", json.dumps({**shop, "gate": str(gate)}))

    run = out["stream"]
    # the gate model waited for Dagster to hold revenue_by_country's materialization: results are streamed
    assert out["gate_opened_by_watcher"] and run["success"], run
    order = materializations(run)
    assert sorted(order) == ["countries", "gated", "orders_incremental", "revenue_by_country", "stg_orders"]
    assert order.index("stg_orders") < order.index("revenue_by_country") < order.index("gated")
    assert order.index("countries") < order.index("revenue_by_country")
    found = checks(run)
    assert set(found) == {"unique_revenue_by_country_country", "not_null_revenue_by_country_country",
                          "no_negative_revenue"}
    assert all(c["passed"] and c["key"] == "revenue_by_country" for c in found.values())
    kinds = [(e["type"], e.get("key")) for e in run["events"]]
    revenue = kinds.index(("materialization", "revenue_by_country"))
    gated = kinds.index(("materialization", "gated"))
    assert all(revenue < i < gated for i, e in enumerate(run["events"]) if e["type"] == "check"), kinds
    first = next(e for e in run["events"] if e.get("key") == "revenue_by_country")
    assert first["metadata"]["dbt unique_id"] == "model.shop.revenue_by_country"
    assert first["metadata"]["dbt status"] == "success"
    with duckdb.connect(shop["database"], read_only=True) as con:
        assert con.execute("select countries from analytics.gated").fetchall() == [(3,)]


def test_failures_are_failed_checks_and_failed_materializations_and_subsets_run_only_their_nodes(
    dagster_python: Path, shop: dict[str, str]
) -> None:
    out = run_script(dagster_python, SCRIPT, "failures", json.dumps(shop))

    failing_test = out["failing_test"]
    assert not failing_test["success"]
    check = checks(failing_test)["no_negative_revenue"]
    assert not check["passed"] and check["severity"] == "ERROR"
    assert "Got 3 results" in check["description"], check  # dbt's own message
    assert checks(failing_test)["unique_revenue_by_country_country"]["passed"]
    assert "revenue_by_country" in materializations(failing_test)
    failure = next(e for e in failing_test["events"] if e["type"] == "step_failure")
    assert "no_negative_revenue" in failure["user_description"]

    failing_model = out["failing_model"]
    assert not failing_model["success"]
    assert materializations(failing_model) == ["countries"]  # stg_orders failed, everything after it skipped
    assert checks(failing_model) == {}
    failure = next(e for e in failing_model["events"] if e["type"] == "step_failure")
    assert "stg_orders" in failure["user_description"]
    assert "this_table_does_not_exist" in failure["user_description"]

    subset = out["subset"]
    assert subset["success"], subset
    assert materializations(subset) == ["stg_orders", "orders_incremental"]
    assert checks(subset) == {}

    check_only = out["check_only"]  # the data test alone, on the table the failing-test run built
    assert check_only["success"] and materializations(check_only) == [], check_only
    assert list(checks(check_only)) == ["no_negative_revenue"] and checks(check_only)["no_negative_revenue"]["passed"]


def test_an_interrupted_run_stops_dbt(dagster_python: Path, shop: dict[str, str]) -> None:
    Path(shop["package"], "models", "slow.sql").write_text(slow_duckdb_model(depends_on="stg_orders"))
    process = subprocess.Popen([str(dagster_python), str(SCRIPT), "interrupt", json.dumps(shop)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "READY", process.stderr.read() if process.stderr else ""
        workers = [c for c in psutil.Process(process.pid).children(recursive=True)
                   if "worker_script.py" in " ".join(c.cmdline())]
        assert workers, "no dbt worker while the assets materialize"
        time.sleep(2)  # let dbt get into the slow query (not an assertion on time)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    _, alive = psutil.wait_procs(workers, timeout=30)
    assert not alive, f"dbt worker still running after the interrupt: {[p.pid for p in alive]}"
    out = json.loads(stdout.strip().splitlines()[-1])
    run = out["interrupt"]
    if "events" in run:  # materialize() returned the interrupted run
        assert not run["success"] and "slow" not in materializations(run), run
    else:
        assert run["raised"] in ("KeyboardInterrupt", "DagsterExecutionInterruptedError"), run
    assert out["run_statuses"] and out["run_statuses"][0] in ("CANCELED", "FAILURE"), (out, stderr[-4000:])


def test_a_dbt_cloud_job_materializes_the_assets_node_by_node_while_it_runs(
    dagster_python: Path, tmp_path: Path
) -> None:
    out = run_script(dagster_python, SCRIPT, "cloud", json.dumps({"state_dir": str(tmp_path / "state")}))

    everything = out["everything"]
    assert not everything["success"]  # the failing test fails the step, as with dbt Core
    assert materializations(everything) == ["raw_orders", "stg_orders", "orders", "revenue"]  # as they finished
    assert everything["cloud_status_at_first_materialization"] == 3  # reported while the dbt Cloud run ran
    assert checks(everything)["unique_orders_id"]["passed"] is False
    assert checks(everything)["not_null_stg_orders_id"]["passed"] is True
    [failure] = [e for e in everything["events"] if e["type"] == "step_failure"]
    assert "dbt Cloud run" in failure["description"] and "failed" in failure["description"]

    subset = out["subset"]
    assert subset["success"] and materializations(subset) == ["orders"]
    assert subset["steps_override"] == ["dbt build --select fqn:analytics.orders"]
    assert subset["runs"] == 3  # one run per materialization (and the first one for the manifest)


def test_materialize_on_the_dbt_v2_engine(
    dagster_python: Path, fusion_venv: Venv, fusion_duckdb_drivers: Path, tmp_path: Path  # noqa: F811
) -> None:
    package = shutil.copytree(V2_PACKAGE, tmp_path / "package")
    database = tmp_path / "warehouse.duckdb"
    config = {"package": str(package), "destination": f"duckdb:///{database}", "dbt_version": FUSION_VERSION}

    out = run_script(dagster_python, SCRIPT, "v2", json.dumps(config),
                     env={"ADBC_DRIVER_PATH": str(fusion_duckdb_drivers)})

    assert out["dbt_version"].startswith("2.")
    run = out["v2"]
    assert run["success"], run
    assert sorted(materializations(run)) == ["customers", "customers_per_country", "stg_customers"]
    found = checks(run)
    assert found and all(c["passed"] for c in found.values()), found
    with duckdb.connect(str(database), read_only=True) as con:
        rows = con.execute("select country, customers from analytics.customers_per_country order by 1").fetchall()
    assert rows == [("FI", 1), ("UK", 1), ("US", 1)]
