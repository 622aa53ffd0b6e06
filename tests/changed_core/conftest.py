from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import dbt_kickoff
from tests.changed_core.tables import duckdb_differences
from tests.core.conftest import ORDERS, SHOP_PROJECT, shop_duckdb, shop_project  # noqa: F401  (fixtures for these tests too)

MODELS = ("stg_orders", "revenue_by_country", "orders_incremental", "countries")
MONEY_MACRO = "{% macro money(amount) %}round(cast({{ amount }} as numeric), 2){% endmacro %}\n"


def shop_copy(tmp_path: Path) -> Path:
    """The shop package with a macro (used by revenue_by_country) so that macro changes can be seen."""
    project = tmp_path / "shop"
    shutil.copytree(SHOP_PROJECT, project)
    (project / "macros").mkdir()
    (project / "macros" / "money.sql").write_text(MONEY_MACRO)
    model = project / "models" / "revenue_by_country.sql"
    model.write_text(model.read_text().replace("sum(o.amount)", "{{ money('sum(o.amount)') }}"))
    return project


def order_rows(rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    return [{"id": i, "country": c, "amount": a, "created_at": d} for i, c, a, d in rows]


@dataclass
class DltShop:
    """The shop package fed by a dlt pipeline into a DuckDB file (dataset raw_data)."""

    project: Path
    database: Path
    records: Path
    pipeline: Any

    def load(self, rows: list[tuple[Any, ...]], table: str = "orders") -> None:
        self.pipeline.run(order_rows(rows), table_name=table)

    def runner(self, **kwargs: Any) -> dbt_kickoff.PackageRunner:
        return dbt_kickoff.package(self.pipeline, self.project, dataset_name="live", records=self.records,
                                   **kwargs)

    def differences_from_full_build(self, tables: tuple[str, ...] = MODELS) -> dict[str, int]:
        """Build everything into the schema ``full`` (no record) and compare it with ``live``."""
        with dbt_kickoff.package(self.pipeline, self.project, dataset_name="full", records=False) as full:
            full.build()
        return duckdb_differences(self.database, tables, "live", "full")


@pytest.fixture
def dlt_shop(tmp_path: Path) -> Iterator[DltShop]:
    dlt = pytest.importorskip("dlt")
    database = tmp_path / "warehouse.duckdb"
    pipeline = dlt.pipeline("changed_core", destination=dlt.destinations.duckdb(str(database)),
                            dataset_name="raw_data", pipelines_dir=str(tmp_path / "pipelines"))
    shop = DltShop(shop_copy(tmp_path), database, tmp_path / "records", pipeline)
    shop.load(ORDERS[:40])
    yield shop


def models_of(results: list[Any]) -> dict[str, str | None]:
    """name -> reason of the models and seeds built."""
    return {r.model_name: r.reason for r in results if r.resource_type in ("model", "seed")}


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


