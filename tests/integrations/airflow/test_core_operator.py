"""DbtKickoffOperator in real Airflow 3 (``airflow dags test``, SQLite metadata) on a real DuckDB file:
killing the task cancels dbt; bad connections and bad arguments fail with dbt-kickoff's own messages."""

from __future__ import annotations

import json
import shutil
import signal
import time
from pathlib import Path

import duckdb
import psutil
import pytest

from tests.integrations.airflow.conftest import DAGS, Airflow, AirflowRun

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]  # the first test also builds Airflow's venv
SECRET = "hunter22-not-shown"


def test_bad_connections_fail_clearly_and_killing_the_task_cancels_dbt(airflow: Airflow, tmp_path: Path) -> None:
    package = tmp_path / "slow_package"
    shutil.copytree(Path(__file__).with_name("slow_package"), package)
    marker = tmp_path / "slow-started.csv"
    database = tmp_path / "slow.duckdb"
    home = airflow.home(tmp_path)
    env = airflow.env(home, DAGS, {
        "SLOW_PACKAGE": str(package),
        "STARTED_MARKER": str(marker),
        "AIRFLOW_CONN_WAREHOUSE": json.dumps({"conn_type": "duckdb", "host": str(database)}),
        "AIRFLOW_CONN_HTTP_ONLY": json.dumps({"conn_type": "http", "host": "example.com", "password": SECRET}),
    })
    log = home / "dags-test.log"
    process = airflow.popen(["dags", "test", "dbt_kickoff_core"], env, log)
    try:
        while not marker.exists():  # the slow model's pre-hook ran: dbt is now inside its endless query
            assert process.poll() is None, log.read_text()[-8000:]
            time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    run = AirflowRun(process.returncode, log.read_text(errors="replace"), home / "airflow.db")
    states = run.states("dbt_kickoff_core")
    assert states == {"unknown_connection": ("failed", 1), "unsupported_type": ("failed", 1),
                      "transform": ("failed", 1)}, run.output[-8000:]

    assert "Airflow connection 'no_such_connection' is not defined" in run.output
    assert "AIRFLOW_CONN_NO_SUCH_CONNECTION" in run.output
    assert "Airflow connection 'http_only' has type 'http', which dbt-kickoff cannot use" in run.output
    assert "postgres, redshift, snowflake, google_cloud_platform, gcpbigquery, databricks, duckdb" in run.output
    assert SECRET not in run.output

    assert "task killed: cancelling dbt" in run.output
    assert "DbtCancelled" in run.output
    leftovers = [p for p in psutil.process_iter(["cwd"]) if p.info["cwd"] and Path(p.info["cwd"]) == package]
    assert leftovers == [], f"dbt still running: {leftovers}"
    finished = run.xcom("dbt_kickoff_core", "transform", "dbt_results")
    assert [(n["name"], n["status"]) for n in finished] == [("quick", "success")]
    with duckdb.connect(str(database), read_only=True) as connection:
        tables = {t for (t,) in connection.execute("select table_name from information_schema.tables").fetchall()}
    assert "quick" in tables and "slow" not in tables


def test_wrong_argument_type_is_an_import_error_with_our_message(airflow: Airflow, tmp_path: Path) -> None:
    broken = DAGS.with_name("dags_broken")
    run = airflow.run(["dags", "list-import-errors", "--local", "--output", "json"], airflow.home(tmp_path), broken)
    errors = json.loads(run.output[run.output.index("[{"):])
    assert [Path(e["filepath"]).name for e in errors] == ["bad_argument.py"], run.output
    assert "DbtKickoffOperator: vars must be a mapping, not list" in errors[0]["error"]
