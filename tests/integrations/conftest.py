from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.core.conftest import SHOP_PROJECT, load_orders_duckdb


@pytest.fixture
def shop(tmp_path: Path) -> dict[str, str]:
    """A copy of the test dbt package and a real DuckDB file with raw_data.orders loaded."""
    package = tmp_path / "shop"
    shutil.copytree(SHOP_PROJECT, package)
    database = tmp_path / "warehouse.duckdb"
    load_orders_duckdb(database)
    return {"package": str(package), "destination": f"duckdb:///{database}", "database": str(database)}


def run_script(python: Path, script: Path, *args: str, timeout: float = 1200) -> dict[str, Any]:
    """Run ``script`` with an orchestrator venv's interpreter; its last stdout line is a JSON document."""
    completed = subprocess.run([str(python), str(script), *args], capture_output=True, text=True, timeout=timeout)
    lines = completed.stdout.strip().splitlines()
    failed = f"{script.name} failed ({completed.returncode}):\n{completed.stderr[-6000:]}"
    assert completed.returncode == 0 and lines, failed
    return dict(json.loads(lines[-1]))
