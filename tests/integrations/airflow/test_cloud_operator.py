"""DbtCloudRunOperator in real Airflow 3 against the dbt Cloud emulator (a real HTTP server): ``airflow dags
test`` runs the trigger inline; a retried task reattaches to its run; the deadline cancels; killing cancels."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from dbt_kickoff.cloud.status import RunStatus
from dbt_kickoff_emulator import DbtCloudEmulator, RunScript
from tests.integrations.airflow.conftest import DAGS, Airflow, AirflowRun, _clean_env

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]  # the first test also builds Airflow's venv
TOKEN = "dbtc_airflow-test-token"
ACCOUNT, JOB_REATTACH, JOB_FOREVER, JOB_KILLED = 1, 70403103900011, 70403103900012, 70403103900013


def _polled(emu: DbtCloudEmulator, job_id: int) -> bool:
    """True once a run of ``job_id`` exists and has been polled (the operator is waiting for it)."""
    runs = emu.run_ids(job_id)
    return bool(runs) and any(r.method == "GET" and r.path.rstrip("/").endswith(f"/runs/{runs[0]}")
                              for r in emu.requests)


def test_deferred_run_reattaches_on_retry_the_deadline_cancels_and_kill_cancels(
    airflow: Airflow, tmp_path: Path
) -> None:
    with DbtCloudEmulator() as emu:
        emu.add_account(ACCOUNT, "Acme")
        emu.add_token(TOKEN, account_ids=[ACCOUNT])
        emu.add_job(ACCOUNT, JOB_REATTACH, "Daily build", execute_steps=["dbt build"])
        emu.add_job(ACCOUNT, JOB_FOREVER, "Endless build", execute_steps=["dbt build"])
        emu.add_job(ACCOUNT, JOB_KILLED, "Build to kill", execute_steps=["dbt build"])
        emu.script_next_run(JOB_FOREVER, RunScript(running_seconds=3600, cancel_polls=0))
        emu.script_next_run(JOB_KILLED, RunScript(running_seconds=3600, cancel_polls=0))
        # the first try's trigger loses its wait (a 403 on its first poll): the task fails and is retried
        emu.faults.fail(403, route="get_run", times=1)
        connection = {"conn_type": "dbt_cloud", "login": str(ACCOUNT), "password": TOKEN, "host": emu.base_url}
        home = airflow.home(tmp_path)
        env = airflow.env(home, DAGS, {
            "AIRFLOW_CONN_DBT_CLOUD_EMULATOR": json.dumps(connection),
            "JOB_REATTACH": str(JOB_REATTACH),
            "JOB_FOREVER": str(JOB_FOREVER),
            "JOB_KILLED": str(JOB_KILLED),
        })
        log = home / "dags-test.log"
        process = airflow.popen(["dags", "test", "dbt_cloud_runs"], env, log)
        try:
            while not _polled(emu, JOB_KILLED):
                assert process.poll() is None, log.read_text()[-10000:]
                time.sleep(0.5)
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=300)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        run = AirflowRun(process.returncode, log.read_text(errors="replace"), home / "airflow.db")
        assert run.states("dbt_cloud_runs") == {
            "reattach": ("success", 2), "deadline": ("failed", 1), "killed": ("failed", 1),
            "unknown_connection": ("failed", 1)}, run.output[-10000:]
        assert "Airflow connection 'no_such_cloud' is not defined" in run.output
        assert "of type 'dbt_cloud', with the account id as login, the API token as password" in run.output

        [run_id] = emu.run_ids(JOB_REATTACH)  # exactly one run: the retry reattached to it
        assert RunStatus.of(emu.peek_run(run_id)) == RunStatus.SUCCESS
        assert emu.trigger_body(run_id)["schema_override"].startswith("airflow_2")  # templated data
        assert "reattaching to dbt Cloud run" in run.output or "found dbt Cloud run" in run.output
        assert run.xcom("dbt_cloud_runs", "reattach", "dbt_cloud_run_id") == run_id
        # each node was logged as the run's logs showed it finished (by the trigger, in the triggerer)
        assert re.search(r"dbt node finished: success\s+model orders", run.output), run.output[-10000:]
        results = run.xcom("dbt_cloud_runs", "reattach", "dbt_results")
        assert results == run.xcom("dbt_cloud_runs", "reattach", "return_value")
        assert results and {n["status"] for n in results} <= {"success", "pass"}
        assert {n["type"] for n in results} >= {"model", "test"}

        [endless] = emu.run_ids(JOB_FOREVER)
        assert RunStatus.of(emu.peek_run(endless)) == RunStatus.CANCELLED
        assert f"dbt Cloud run {endless}" in run.output

        [killed] = emu.run_ids(JOB_KILLED)
        assert f"task killed: cancelling dbt Cloud run {killed}" in run.output
        assert RunStatus.of(emu.peek_run(killed)) == RunStatus.CANCELLED
        assert emu.route_counts.get("cancel") == 2  # the deadline's and the kill's
        assert TOKEN not in run.output


BAD_ARGUMENTS = r"""
import json, math
from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.integrations.airflow import DbtCloudRunOperator
from dbt_kickoff.integrations.airflow.triggers import DbtCloudRunTrigger

cases = {
    "operator poll_interval": lambda: DbtCloudRunOperator(task_id="t", job_id=1, poll_interval=math.nan),
    "operator timeout": lambda: DbtCloudRunOperator(task_id="t", job_id=1, timeout=-1),
    "operator cancel_on_timeout": lambda: DbtCloudRunOperator(task_id="t", job_id=1, cancel_on_timeout="yes"),
    "trigger run_id": lambda: DbtCloudRunTrigger(conn_id="c", run_id=0, poll_interval=1),
    "trigger poll_interval": lambda: DbtCloudRunTrigger(conn_id="c", run_id=1, poll_interval=-2),
    "trigger cancel_on_timeout": lambda: DbtCloudRunTrigger(conn_id="c", run_id=1, poll_interval=1,
                                                            cancel_on_timeout=1),
}
out = {}
for name, make in cases.items():
    try:
        make()
        out[name] = None
    except ConfigurationError as exc:
        out[name] = str(exc)
print(json.dumps(out))
"""


def test_bad_wait_options_of_the_operator_and_its_trigger_are_refused_when_made(airflow: Airflow) -> None:
    """The deferrable path is checked by the same option specs as AsyncDbtCloud: in the task, before it defers."""
    done = subprocess.run([str(airflow.venv / "bin" / "python"), "-c", BAD_ARGUMENTS], capture_output=True,
                          text=True, check=False, env=_clean_env())
    assert done.returncode == 0, done.stderr[-3000:]
    errors = json.loads(done.stdout.strip().splitlines()[-1])
    for case, message in errors.items():
        option = case.split()[1]
        where = "DbtCloudRunOperator" if case.startswith("operator") else "DbtCloudRunTrigger()"
        assert message is not None and f"{where}: {option} must be" in message, (case, message)
