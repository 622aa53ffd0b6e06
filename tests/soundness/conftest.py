"""The soundness bed on DuckDB, built once per test session and restored for each test.

The package, its warehouse file and its records live at one path for the whole session (a record names the
package by its folder), so each test gets the bed back by copying the built one into place (times of the files
kept), instead of building it again.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from bench.branch_loads import Warehouse

from tests.soundness.bed import Bed
from tests.soundness.package import TABLE_MODELS, load_sources, write_package

FIRST_RUN = "no usable previous run: first run (no record of this package and target)"


def new_bed(root: Path, warehouse: Warehouse, *, big_seed: bool = True) -> Bed:
    """Write the package into ``root``, load its sources into ``warehouse``; nothing built."""
    root.mkdir(parents=True)
    write_package(root, big_seed=big_seed)
    load_sources(warehouse, root / "pipelines")
    return Bed(root, warehouse)


def first_build(bed: Bed) -> None:
    """The first changed-only call builds everything, for the first-run reason, as a full build does."""
    first = bed.changed_only()
    assert first.outcome.error is None and first.differences == {}, first
    assert first.outcome.built() == dict.fromkeys(TABLE_MODELS, FIRST_RUN), first


@pytest.fixture(scope="session")
def built_duckdb_bed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with ``pristine``: the bed after its first build (records and all)."""
    base = tmp_path_factory.mktemp("soundness")
    root = base / "bed"
    first_build(new_bed(root, Warehouse(duckdb_path=root / "warehouse.duckdb")))
    shutil.copytree(root, base / "pristine", symlinks=True)
    return base


@pytest.fixture
def bed(built_duckdb_bed: Path) -> Bed:
    """The DuckDB bed as it was after its first build: package, warehouse and records."""
    root = built_duckdb_bed / "bed"
    shutil.rmtree(root)
    shutil.rmtree(root.with_name(f"{root.name}_reference"), ignore_errors=True)
    shutil.copytree(built_duckdb_bed / "pristine", root, symlinks=True)
    return Bed(root, Warehouse(duckdb_path=root / "warehouse.duckdb"))


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")
