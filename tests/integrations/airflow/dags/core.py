"""DbtKickoffOperators that must fail: two whose connection cannot work (one is not defined, one is an HTTP
connection), then one whose dbt run never ends on its own, which the test kills (SIGTERM)."""

import os
from datetime import datetime

from airflow.sdk import DAG

from dbt_kickoff.integrations.airflow import DbtKickoffOperator

with DAG("dbt_kickoff_core", schedule=None, start_date=datetime(2024, 3, 1), catchup=False):
    bad = [
        DbtKickoffOperator(task_id="unknown_connection", package_location="/nonexistent",
                           conn_id="no_such_connection"),
        DbtKickoffOperator(task_id="unsupported_type", package_location="/nonexistent", conn_id="http_only"),
    ]
    killed = DbtKickoffOperator(
        task_id="transform",
        package_location=os.environ.get("SLOW_PACKAGE", "/nonexistent"),
        conn_id="warehouse",
        command="run",
        vars={"started_marker": os.environ.get("STARTED_MARKER", "/nonexistent")},
        package_options={"threads": 1},
        trigger_rule="all_done",
    )
    bad >> killed
