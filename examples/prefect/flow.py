"""Prefect on the demo's data: a task loads the sample shop with dlt into DuckDB, then dbt-kickoff builds the
bundled dbt package on the dlt pipeline (its DuckDB file, credentials and dataset), with every node result
published as a table artifact.

    pip install -e '.[prefect,demo]'
    python examples/prefect/flow.py                   # one run (a temporary Prefect server starts if none is set)
    python examples/prefect/flow.py --serve           # or serve it, and start runs from the Prefect UI

Each run loads the next day. Files live in ``$DBT_KICKOFF_EXAMPLE_DIR`` (``.demo/prefect`` by default).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

import duckdb
from prefect import flow, task

from dbt_kickoff.demo import DBT_PACKAGE_DIR
from dbt_kickoff.demo.data import load_sample_data
from dbt_kickoff.integrations.prefect import run_dbt_package

WORKDIR = Path(os.environ.get("DBT_KICKOFF_EXAMPLE_DIR", ".demo/prefect")).resolve()
DATABASE = WORKDIR / "shop.duckdb"
RAW, METRICS = "raw_shop", "shop_metrics"


def loads_done() -> int:
    """How many loads the database holds: the next load is that batch (a new day of the sample shop)."""
    if not DATABASE.exists():
        return 0
    with duckdb.connect(str(DATABASE), read_only=True) as con:
        try:
            row = con.execute(f"select count(*) from {RAW}._dlt_loads where status = 0").fetchone()
        except duckdb.CatalogException:  # nothing loaded yet
            return 0
    return int(row[0]) if row else 0


@task
def load_shop() -> Any:
    """Load the next day of the sample shop with dlt; returns the dlt pipeline."""
    pipeline, load_info = load_sample_data(DATABASE, RAW, pipelines_dir=WORKDIR / "dlt", batch=loads_done())
    print(load_info)
    return pipeline


@flow(name="shop: load and transform")
def shop_flow(timeout_seconds: float = 900) -> list[Any]:
    package = WORKDIR / "dbt_package"
    shutil.copytree(DBT_PACKAGE_DIR, package, dirs_exist_ok=True)  # dbt writes target/ next to the package
    pipeline = load_shop()
    return run_dbt_package.with_options(timeout_seconds=timeout_seconds)(  # type: ignore[no-any-return]
        str(package), pipeline, command="run_all", dataset_name=METRICS
    )


if __name__ == "__main__":
    if "--serve" in sys.argv:
        shop_flow.serve(name="shop")
    else:
        results = shop_flow()
        print(f"{len(results)} dbt nodes: " + ", ".join(f"{r.model_name} {r.status}" for r in results))
