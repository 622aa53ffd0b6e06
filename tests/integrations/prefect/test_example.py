"""``examples/prefect/flow.py`` runs on the demo's data (dlt load task, then the bundled dbt package)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import duckdb
import pytest

from tests.integrations.prefect.test_prefect import prefect_python  # noqa: F401 - the venv fixture
from tests.integrations.venvs import REPO

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]


def test_the_example_loads_and_builds_the_demo(prefect_python: Path, tmp_path: Path) -> None:  # noqa: F811
    # no PREFECT_API_URL: Prefect starts a temporary server of its own, with its home in tmp_path
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(DBT_KICKOFF_EXAMPLE_DIR=str(tmp_path), PREFECT_HOME=str(tmp_path / "prefect"),
               PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="300")  # a busy CI machine starts it slowly
    done = subprocess.run([str(prefect_python), str(REPO / "examples" / "prefect" / "flow.py")], env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-6000:]
    summary = done.stdout.strip().splitlines()[-1]
    assert "daily_revenue success" in summary and " error" not in summary and " fail" not in summary, summary
    with duckdb.connect(str(tmp_path / "shop.duckdb"), read_only=True) as con:
        days = con.execute("select count(*) from shop_metrics.daily_revenue").fetchone()
    assert days and days[0] > 0
