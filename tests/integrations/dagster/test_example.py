"""``examples/dagster/definitions.py`` runs on the demo's data (dlt load, then the bundled dbt package)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import duckdb
import pytest

from tests.integrations.dagster.test_dagster import dagster_python  # noqa: F401 - the venv fixture
from tests.integrations.venvs import REPO

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]


def test_the_example_loads_and_builds_the_demo(dagster_python: Path, tmp_path: Path) -> None:  # noqa: F811
    env = {**os.environ, "DBT_KICKOFF_EXAMPLE_DIR": str(tmp_path), "DAGSTER_HOME": str(tmp_path / "dagster")}
    (tmp_path / "dagster").mkdir()
    done = subprocess.run([str(dagster_python), str(REPO / "examples" / "dagster" / "definitions.py")], env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-6000:]
    assert "ASSET_CHECK_EVALUATION" in done.stderr and "STEP_FAILURE" not in done.stderr
    with duckdb.connect(str(tmp_path / "shop.duckdb"), read_only=True) as con:
        days = con.execute("select count(*) from shop_metrics.daily_revenue").fetchone()
        loads = con.execute("select count(*) from raw_shop._dlt_loads").fetchone()
    assert days and days[0] > 0 and loads == (1,)
