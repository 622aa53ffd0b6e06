"""Changed-only builds on the full shape of the benchmark package: 6 branches (3 loaded by dlt, 3 by a plain
loader with ``loaded_at``) of 5 source tables and 5 layers each, ~100 tests, real dbt and DuckDB. One source table
of 30 gets 30 new rows: only its downstream is built, the decision asks no dbt, and every table equals a full
build's on a copy; then nothing changed: no dbt node runs.

200 models keep every branch, source table, layer and loader of the 1,000-model package (only its streams are
shorter), which is what these checks need; the 1,000-model package and its decision time are measured by
``bench/bench_changed.py`` (timings belong there, not in a test)."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench.branch_loads import Warehouse

from tests.changed_scale.bed import make_bed

WIDE = {"models": 200, "branches": 6, "dlt_branches": 3, "tables": 5, "layers": 5, "test_every": 20,
        "failing": False}


@pytest.mark.slow
@pytest.mark.timeout(1800)  # ~1 min on a quiet 2-core machine; far more when it is shared
def test_wide_package_one_source_table_changed(tmp_path: Path) -> None:
    bed = make_bed(tmp_path, Warehouse(duckdb_path=tmp_path / "warehouse.duckdb"), **WIDE)
    package = bed.package
    assert len(package.models) == 200 and len(package.branches) == 6 and len(package.tests) > 100
    results = bed.changed_only()
    assert bed.changed.built_everything and {r.status for r in results} <= {"success", "pass"}
    assert {r.model_name for r in results if r.resource_type == "model"} == package.models

    bed.load("b4", ["t2"], count=30)
    results = bed.changed_only()
    reached = package.downstream(["source:b4.t2"])
    assert 0 < len(reached) < len(package.models) / 10  # its stream and its branch's marts
    bed.expect(results, dict.fromkeys(reached, "source b4.t2 fresher"), sources=["source:b4.t2"])
    assert bed.changed.unchanged_count >= len(package.models) - len(reached)
    assert not bed.changed.dbt_started  # freshness measured and selection made without asking dbt
    assert bed.differences_from_full_build() == {}

    assert bed.changed_only() == []
    assert bed.changed.reasons == {} and not bed.changed.built_everything and not bed.changed.dbt_started
    assert bed.differences_from_full_build(rebuild=False) == {}
