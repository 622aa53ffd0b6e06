"""A DbtKickoffOperator whose dbt run never ends on its own: the test kills the task (SIGTERM)."""

import os
from datetime import datetime

from airflow.sdk import DAG

from dbt_kickoff.integrations.airflow import DbtKickoffOperator

with DAG("dbt_kickoff_kill", schedule=None, start_date=datetime(2024, 3, 1), catchup=False):
    DbtKickoffOperator(
        task_id="transform",
        package_location=os.environ.get("SLOW_PACKAGE", "/nonexistent"),
        conn_id="warehouse",
        command="run",
        vars={"started_marker": os.environ.get("STARTED_MARKER", "/nonexistent")},
        package_options={"threads": 1},
    )
