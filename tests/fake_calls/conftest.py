"""Fixtures for the runner's public calls on the fake engine (tests/fake_engine.py): no dbt, no server."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import dbt_kickoff
from tests.core.conftest import load_orders_duckdb
from tests.fake_engine import FakeDbt, shop_package


@pytest.fixture
def fake() -> FakeDbt:
    return FakeDbt()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the shop package (the fake's artifacts describe it)."""
    return shop_package(tmp_path / "shop")


@pytest.fixture
def records(tmp_path: Path) -> Path:
    return tmp_path / "records"


@pytest.fixture(scope="session")
def loaded_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("loaded") / "warehouse.duckdb"
    load_orders_duckdb(path)
    return path


@pytest.fixture
def warehouse(loaded_warehouse: Path, tmp_path: Path) -> Path:
    """A real DuckDB file with raw_data.orders (changed-only calls measure the source's freshness in it); named
    like the database of the fake's artifacts. A copy of one loaded per session."""
    return Path(shutil.copyfile(loaded_warehouse, tmp_path / "warehouse.duckdb"))


@pytest.fixture
def make_runner(fake: FakeDbt, project: Path, records: Path, warehouse: Path
                ) -> Iterator[Callable[..., dbt_kickoff.PackageRunner]]:
    """``make_runner(**options)``: ``dbt_kickoff.package`` on the fake engine, with records; closed at the end."""
    made: list[dbt_kickoff.PackageRunner] = []

    def make(**options: Any) -> dbt_kickoff.PackageRunner:
        options = {"source_dataset_name": "raw_data", "records": records, **options}
        runner = dbt_kickoff.package(f"duckdb:///{warehouse}", project, venv=fake.environment(), **options)
        made.append(runner)
        return runner

    yield make
    for runner in made:
        runner.close()


@pytest.fixture
def runner(make_runner: Callable[..., dbt_kickoff.PackageRunner]) -> dbt_kickoff.PackageRunner:
    return make_runner()


def statuses(results: list[dbt_kickoff.NodeResult]) -> dict[str, str]:
    """node name -> status."""
    return {r.model_name: r.status for r in results}


MODELS = {"stg_orders", "orders_incremental", "revenue_by_country"}
TESTS = {"no_negative_revenue", "not_null_revenue_by_country_country", "unique_revenue_by_country_country",
         "source_not_null_raw_orders_id", "source_unique_raw_orders_id"}
SOURCE_TESTS = {"source_not_null_raw_orders_id", "source_unique_raw_orders_id"}
