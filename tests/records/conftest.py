from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.core.conftest import SHOP_PROJECT, load_orders_duckdb

BROKEN_STG_ORDERS = "select id, country, amount, created_at from raw_data.no_such_table\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def shop(tmp_path: Path) -> tuple[Path, Path]:
    """A fresh copy of the shop package and a DuckDB file with raw_data.orders loaded."""
    project = tmp_path / "shop"
    shutil.copytree(SHOP_PROJECT, project)
    database = tmp_path / "warehouse.duckdb"
    load_orders_duckdb(database)
    return project, database


def break_model(project: Path) -> str:
    """Make stg_orders fail (it reads a table that does not exist); returns the good SQL to put back."""
    path = project / "models" / "stg_orders.sql"
    good = path.read_text()
    path.write_text(BROKEN_STG_ORDERS)
    return good


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[str]:
    """moto's standalone S3 server on a loopback port; yields its endpoint URL."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.2)
    else:
        process.kill()
        raise RuntimeError("moto server did not start")
    try:
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=10)


def s3_options(endpoint: str) -> dict[str, object]:
    return {"key": "testing", "secret": "testing-secret", "client_kwargs": {"endpoint_url": endpoint,
                                                                            "region_name": "us-east-1"}}


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("chromium is needed for the report tests (apt-get install chromium; .ci/run installs it)")
    return path


def chromium_args(user_dir: Path) -> list[str]:
    return [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={user_dir}"]
