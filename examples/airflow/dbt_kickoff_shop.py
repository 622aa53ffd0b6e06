"""Load → transform on the demo's shop data: dlt loads a day of orders into DuckDB, then dbt-kickoff runs the
bundled dbt package on it and publishes every node's result to XCom and one Airflow asset per built table.

Run it (Airflow 3 and ``dbt-kickoff[airflow,demo]`` installed)::

    export AIRFLOW__CORE__DAGS_FOLDER=examples/airflow
    export DBT_KICKOFF_EXAMPLE_DIR=/tmp/dbt-kickoff-airflow          # where the DuckDB file and package live
    export AIRFLOW_CONN_SHOP_DUCKDB='{"conn_type": "duckdb", "host": "/tmp/dbt-kickoff-airflow/shop.duckdb"}'
    airflow dags test dbt_kickoff_shop

Each run loads the next day of the sample data (the first run two weeks), as ``dbt-kickoff demo`` does.
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime
from pathlib import Path

from airflow.sdk import dag, task

from dbt_kickoff.integrations.airflow import DbtKickoffOperator

WORKDIR = Path(os.environ.get("DBT_KICKOFF_EXAMPLE_DIR", Path.home() / "dbt-kickoff-airflow-example"))
DATABASE = WORKDIR / "shop.duckdb"
PACKAGE = WORKDIR / "dbt_package"
RAW, METRICS = "raw_shop", "shop_metrics"


@dag(dag_id="dbt_kickoff_shop", schedule=None, start_date=datetime(2024, 3, 1), catchup=False,
     tags=["dbt-kickoff", "example"])
def dbt_kickoff_shop() -> None:
    @task
    def load() -> dict[str, int]:
        """Load the next day of the shop's data with dlt; copy the bundled dbt package next to it."""
        import duckdb

        from dbt_kickoff.demo import DBT_PACKAGE_DIR
        from dbt_kickoff.demo.data import load_sample_data

        shutil.copytree(DBT_PACKAGE_DIR, PACKAGE, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("target", "logs", "dbt_packages", "__pycache__"))
        batch = 0
        if DATABASE.exists():
            with duckdb.connect(str(DATABASE), read_only=True) as connection:
                tables = connection.execute(
                    "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                    [RAW, "_dlt_loads"]).fetchone()
                if tables and tables[0]:
                    done = connection.execute(f"select count(*) from {RAW}._dlt_loads where status = 0").fetchone()
                    batch = int(done[0]) if done else 0
        pipeline, _ = load_sample_data(DATABASE, RAW, pipelines_dir=WORKDIR / "dlt", batch=batch)
        counts = pipeline.last_trace.last_normalize_info.row_counts
        return {table: int(n) for table, n in counts.items() if not table.startswith("_dlt")}

    transform = DbtKickoffOperator(
        task_id="transform",
        package_location=str(PACKAGE),
        conn_id="shop_duckdb",
        command="run_all",
        dataset_name=METRICS,
        source_dataset_name=RAW,
        emit_assets=True,
    )
    load() >> transform


dbt_kickoff_shop()
