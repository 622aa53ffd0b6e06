"""A DAG file that passes a wrong type to DbtKickoffOperator: Airflow's import error must show our message."""

from datetime import datetime

from airflow.sdk import DAG

from dbt_kickoff.integrations.airflow import DbtKickoffOperator

with DAG("dbt_kickoff_bad_argument", schedule=None, start_date=datetime(2024, 3, 1), catchup=False):
    DbtKickoffOperator(task_id="transform", package_location="dbt/shop", conn_id="warehouse", vars=["x=1"])
