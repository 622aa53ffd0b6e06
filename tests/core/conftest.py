from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

SHOP_PROJECT = Path(__file__).parents[1] / "projects" / "shop"
ORDERS = [(i, ["DE", "FR", "US"][i % 3], 10.0 + i, f"2026-11-{(i % 28) + 1:02d}") for i in range(1, 61)]


def load_orders_duckdb(path: Path, schema: str = "raw_data") -> None:
    with duckdb.connect(str(path)) as con:
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
