"""Load → transform on the demo's shop data, every dbt node a task of its own: dlt loads a day of orders into
DuckDB, then a ``DbtKickoffTaskGroup`` renders the bundled dbt package as one task per model, seed and test group,
built by one producer task with one dbt process. Each node task waits in the triggerer and ends with the node's
result in its log and XCom; retry or clear a failed node's task to rebuild just it.

Run it (Airflow 3 and ``dbt-kickoff[airflow,demo]`` installed)::

    export AIRFLOW__CORE__DAGS_FOLDER=examples/airflow
    export DBT_KICKOFF_EXAMPLE_DIR=/tmp/dbt-kickoff-airflow          # where the DuckDB file and package live
    export AIRFLOW_CONN_SHOP_DUCKDB='{"conn_type": "duckdb", "host": "/tmp/dbt-kickoff-airflow/shop.duckdb"}'
    python examples/airflow/dbt_kickoff_shop_nodes.py --prepare      # copy the package, parse it once
    airflow dags test dbt_kickoff_shop_nodes                         # or airflow standalone, and trigger it

The task group renders from the manifest in the package's ``target/`` folder: ``--prepare`` runs ``dbt parse``
there once (the first producer build keeps it up to date), so parsing this file never starts dbt.
"""

from __future__ import annotations

import os
import shutil
import sys
from datetime import datetime
from pathlib import Path

WORKDIR = Path(os.environ.get("DBT_KICKOFF_EXAMPLE_DIR", Path.home() / "dbt-kickoff-airflow-example"))
DATABASE = WORKDIR / "shop.duckdb"
PACKAGE = WORKDIR / "dbt_package_nodes"
RAW, METRICS = "raw_shop", "shop_metrics"


def prepare() -> None:
    """Copy the bundled package next to the database and leave its manifest in target/ (``dbt parse``)."""
    import dbt_kickoff
    from dbt_kickoff.demo import DBT_PACKAGE_DIR

    shutil.copytree(DBT_PACKAGE_DIR, PACKAGE, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("target", "logs", "dbt_packages", "__pycache__"))
    with dbt_kickoff.package(f"duckdb:///{DATABASE}", PACKAGE, dataset_name=METRICS, source_dataset_name=RAW,
                             records=False) as runner:
        runner.invoke(["parse"])


if __name__ == "__main__" and "--prepare" in sys.argv:
    prepare()
elif (PACKAGE / "dbt_project.yml").is_file():
    from airflow.sdk import dag, task

    from dbt_kickoff.integrations.airflow import DbtKickoffTaskGroup

    @dag(dag_id="dbt_kickoff_shop_nodes", schedule=None, start_date=datetime(2024, 3, 1), catchup=False,
         tags=["dbt-kickoff", "example"])
    def dbt_kickoff_shop_nodes() -> None:
        @task
        def load() -> dict[str, int]:
            """Load the next day of the shop's data with dlt."""
            import duckdb

            from dbt_kickoff.demo.data import load_sample_data

            batch = 0
            if DATABASE.exists():
                with duckdb.connect(str(DATABASE), read_only=True) as connection:
                    found = connection.execute(
                        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                        [RAW, "_dlt_loads"]).fetchone()
                    if found and found[0]:
                        done = connection.execute(f"select count(*) from {RAW}._dlt_loads where status = 0").fetchone()
                        batch = int(done[0]) if done else 0
            pipeline, _ = load_sample_data(DATABASE, RAW, pipelines_dir=WORKDIR / "dlt", batch=batch)
            counts = pipeline.last_trace.last_normalize_info.row_counts
            return {table: int(n) for table, n in counts.items() if not table.startswith("_dlt")}

        transform = DbtKickoffTaskGroup(
            group_id="transform",
            package_location=str(PACKAGE),
            conn_id="shop_duckdb",
            test_behavior="after_each",      # a <node>_test task after each node with tests
            dataset_name=METRICS,            # the rest: dbt_kickoff.package() options
            source_dataset_name=RAW,
            default_args={"retries": 1},     # a node's retry rebuilds just that node, in a worker
        )
        load() >> transform

    dbt_kickoff_shop_nodes()
