from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

SHOP_PROJECT = Path(__file__).parents[1] / "projects" / "shop"
ORDERS = [(i, ["DE", "FR", "US"][i % 3], 10.0 + i, f"2026-11-{(i % 28) + 1:02d}") for i in range(1, 61)]


def load_orders_duckdb(path: Path, schema: str = "raw_data", storage_version: str | None = None) -> None:
    """``schema.orders`` with :data:`ORDERS` in the DuckDB file ``path``; a new file is written in DuckDB's
    ``storage_version`` format when given (``"v1.5.0"``: readable by the dbt v2 engine's DuckDB driver)."""
    config = {"storage_compatibility_version": storage_version} if storage_version else {}
    with duckdb.connect(str(path), config=config) as con:
        con.execute(f"create schema if not exists {schema}")
        con.execute(f"create or replace table {schema}.orders (id integer, country varchar, amount double, "
                    "created_at date)")
        con.executemany(f"insert into {schema}.orders values (?, ?, ?, ?)", ORDERS)


@pytest.fixture
def shop_project(tmp_path: Path) -> Path:
    """A fresh copy of the test dbt package."""
    target = tmp_path / "shop"
    shutil.copytree(SHOP_PROJECT, target)
    return target


@pytest.fixture
def shop_duckdb(tmp_path: Path) -> Path:
    """A real DuckDB file with raw_data.orders loaded."""
    path = tmp_path / "warehouse.duckdb"
    load_orders_duckdb(path)
    return path
