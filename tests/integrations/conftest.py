from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
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

    Output goes through files, not pipes, and the script's process group is killed afterwards: a server the
    orchestrator's test harness left behind (Prefect's temporary API) must neither hold the test up nor live on.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen([str(python), str(script), *args], stdout=out, stderr=err, text=True,
                                   start_new_session=True)
        try:
            code = process.wait(timeout=timeout)
        finally:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        out.seek(0)
        err.seek(0)
        lines, errors = out.read().strip().splitlines(), err.read()
    assert code == 0 and lines, f"{script.name} failed ({code}):\n{errors[-6000:]}"
    return dict(json.loads(lines[-1]))
