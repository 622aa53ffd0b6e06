"""DbtCloudRunOperator (deferrable) in real Airflow 3 against the dbt Cloud emulator (a real HTTP server):
``airflow dags test`` runs the trigger inline; a retried task reattaches to its run; the deadline cancels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dbt_kickoff.cloud.emulator import DbtCloudEmulator, RunScript
from dbt_kickoff.cloud.status import RunStatus
from tests.integrations.airflow.conftest import DAGS, Airflow

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]  # the first test also builds Airflow's venv
TOKEN = "dbtc_airflow-test-token"
ACCOUNT, JOB_REATTACH, JOB_FOREVER = 1, 70403103900011, 70403103900012


def test_deferred_run_reattaches_on_retry_and_the_deadline_cancels(airflow: Airflow, tmp_path: Path) -> None:
    with DbtCloudEmulator() as emu:
        emu.add_account(ACCOUNT, "Acme")
        emu.add_token(TOKEN, account_ids=[ACCOUNT])
        emu.add_job(ACCOUNT, JOB_REATTACH, "Daily build", execute_steps=["dbt build"])
        emu.add_job(ACCOUNT, JOB_FOREVER, "Endless build", execute_steps=["dbt build"])
        emu.script_next_run(JOB_FOREVER, RunScript(running_seconds=3600, cancel_polls=0))
        # the first try's trigger loses its wait (a 403 on its first poll): the task fails and is retried
        emu.faults.fail(403, route="get_run", times=1)
        connection = {"conn_type": "dbt_cloud", "login": str(ACCOUNT), "password": TOKEN, "host": emu.base_url}
        run = airflow.dags_test("dbt_cloud_runs", airflow.home(tmp_path), DAGS, {
            "AIRFLOW_CONN_DBT_CLOUD_EMULATOR": json.dumps(connection),
            "JOB_REATTACH": str(JOB_REATTACH),
            "JOB_FOREVER": str(JOB_FOREVER),
        })
        assert run.states("dbt_cloud_runs") == {"reattach": ("success", 2), "deadline": ("failed", 1)}, (
            run.output[-10000:])

        [run_id] = emu.run_ids(JOB_REATTACH)  # exactly one run: the retry reattached to it
        assert RunStatus.of(emu.peek_run(run_id)) == RunStatus.SUCCESS
        assert emu.trigger_body(run_id)["schema_override"].startswith("airflow_2")  # templated data
        assert "reattaching to dbt Cloud run" in run.output or "found dbt Cloud run" in run.output
        assert run.xcom("dbt_cloud_runs", "reattach", "dbt_cloud_run_id") == run_id
        results = run.xcom("dbt_cloud_runs", "reattach", "dbt_results")
        assert results == run.xcom("dbt_cloud_runs", "reattach", "return_value")
        assert results and {n["status"] for n in results} <= {"success", "pass"}
        assert {n["type"] for n in results} >= {"model", "test"}

        [endless] = emu.run_ids(JOB_FOREVER)
        assert emu.route_counts.get("cancel") == 1
        assert RunStatus.of(emu.peek_run(endless)) == RunStatus.CANCELLED
        assert f"dbt Cloud run {endless}" in run.output
        assert TOKEN not in run.output
