"""DbtCloudRunOperators (deferrable) against the dbt Cloud emulator the test started.

``reattach`` is retried once: its first try loses its wait, the retry must find the run the first try started.
``deadline`` waits for a run that would run for ever: its trigger's deadline cancels the run.
``killed`` waits in the worker (not deferred) for another endless run; the test kills it (SIGTERM).
``unknown_connection`` names a connection that does not exist.
"""

import os
from datetime import datetime, timedelta

from airflow.sdk import DAG

from dbt_kickoff.integrations.airflow import DbtCloudRunOperator

with DAG("dbt_cloud_runs", schedule=None, start_date=datetime(2024, 3, 1), catchup=False):
    reattach = DbtCloudRunOperator(
        task_id="reattach",
        job_id=os.environ.get("JOB_REATTACH", "1"),
        conn_id="dbt_cloud_emulator",
        data={"schema_override": "airflow_{{ ds_nodash }}"},
        poll_interval=0.2,
        retries=1,
        retry_delay=timedelta(0),
    )
    deadline = DbtCloudRunOperator(
        task_id="deadline",
        job_id=os.environ.get("JOB_FOREVER", "2"),
        conn_id="dbt_cloud_emulator",
        poll_interval=0.2,
        timeout=3,
        trigger_rule="all_done",
    )
    killed = DbtCloudRunOperator(
        task_id="killed",
        job_id=os.environ.get("JOB_KILLED", "3"),
        conn_id="dbt_cloud_emulator",
        deferrable=False,
        poll_interval=0.2,
        trigger_rule="all_done",
    )
    reattach >> deadline >> killed
    DbtCloudRunOperator(task_id="unknown_connection", job_id=1, conn_id="no_such_cloud")
