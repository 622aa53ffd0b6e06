from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
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
    """Run ``script`` with an orchestrator venv's interpreter; its last stdout line is a JSON document.

    Output goes through files, not pipes: a server the orchestrator's test harness leaves behind (Prefect's
    temporary API) must not hold the test up by keeping a pipe open.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen([str(python), str(script), *args], stdout=out, stderr=err, text=True)
        try:
            code = process.wait(timeout=timeout)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        out.seek(0)
        err.seek(0)
        lines, errors = out.read().strip().splitlines(), err.read()
    assert code == 0 and lines, f"{script.name} failed ({code}):\n{errors[-6000:]}"
    return dict(json.loads(lines[-1]))
