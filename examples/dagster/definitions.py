"""Dagster on the demo's data: dlt loads the sample shop into DuckDB, dbt-kickoff builds the bundled dbt package.

The dlt load is one asset per loaded table (the dbt sources); every model and seed of the package is an asset
downstream of them, every data test an asset check, each reported the moment dbt finishes it.

    pip install -e '.[dagster,demo]'
    dagster dev -f examples/dagster/definitions.py     # the UI: materialize from there
    python examples/dagster/definitions.py             # or materialize everything once, here

Each materialization of the raw tables loads the next day. Files live in ``$DBT_KICKOFF_EXAMPLE_DIR``
(``.demo/dagster`` by default).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
from dagster import Definitions, MaterializeResult, materialize, multi_asset

from dbt_kickoff.demo import DBT_PACKAGE_DIR
from dbt_kickoff.demo.data import load_sample_data
from dbt_kickoff.integrations.dagster import DbtKickoffResource, dbt_kickoff_assets, dbt_kickoff_source_specs

WORKDIR = Path(os.environ.get("DBT_KICKOFF_EXAMPLE_DIR", ".demo/dagster")).resolve()
DATABASE = WORKDIR / "shop.duckdb"
PACKAGE = WORKDIR / "dbt_package"
RAW, METRICS = "raw_shop", "shop_metrics"

shutil.copytree(DBT_PACKAGE_DIR, PACKAGE, dirs_exist_ok=True)  # dbt writes target/ next to the package
dbt = DbtKickoffResource(
    package_location=str(PACKAGE),
    destination=f"duckdb:///{DATABASE}",
    source_dataset_name=RAW,
    dataset_name=METRICS,
)
manifest = dbt.parse_manifest()


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


@multi_asset(specs=dbt_kickoff_source_specs(manifest), name="shop_raw_data")
def shop_raw_data() -> Iterator[MaterializeResult]:
    """Load the next day of the sample shop with dlt (the dbt package's sources)."""
    pipeline, _ = load_sample_data(DATABASE, RAW, pipelines_dir=WORKDIR / "dlt", batch=loads_done())
    rows = pipeline.last_trace.last_normalize_info.row_counts
    for spec in dbt_kickoff_source_specs(manifest):
        table = spec.key.path[-1]
        yield MaterializeResult(asset_key=spec.key, metadata={"rows loaded": int(rows.get(table, 0))})


defs = Definitions(assets=[shop_raw_data, dbt_kickoff_assets(manifest)], resources={"dbt_kickoff": dbt})

if __name__ == "__main__":
    result = materialize([shop_raw_data, dbt_kickoff_assets(manifest)], resources={"dbt_kickoff": dbt},
                         raise_on_error=False)
    sys.exit(0 if result.success else 1)
