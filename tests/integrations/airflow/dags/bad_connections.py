"""DbtKickoffOperators whose connection cannot work: one is not defined, one is an HTTP connection."""

from datetime import datetime

from airflow.sdk import DAG

from dbt_kickoff.integrations.airflow import DbtKickoffOperator

with DAG("dbt_kickoff_bad_connections", schedule=None, start_date=datetime(2024, 3, 1), catchup=False):
    DbtKickoffOperator(task_id="unknown_connection", package_location="/nonexistent", conn_id="no_such_connection")
    DbtKickoffOperator(task_id="unsupported_type", package_location="/nonexistent", conn_id="http_only")
