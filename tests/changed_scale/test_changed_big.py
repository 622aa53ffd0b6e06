"""Changed-only builds at scale: a generated package of 1,000 models in 6 branches (3 loaded by dlt, 3 by a plain
loader with ``loaded_at``), real dbt and DuckDB. One source table of 30 gets 30 new rows: only its downstream
is built, and every table equals a full build's on a copy; then nothing changed: no dbt node runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench.branch_loads import Warehouse

from tests.changed_scale.bed import make_bed

BIG = {"models": 1000, "branches": 6, "dlt_branches": 3, "tables": 5, "layers": 5, "test_every": 100,
       "failing": False}


@pytest.mark.slow
@pytest.mark.timeout(1800)  # ~4 min on a quiet 2-core machine; far more when it is shared
def test_thousand_models_one_source_table_changed(tmp_path: Path) -> None:
    bed = make_bed(tmp_path, Warehouse(duckdb_path=tmp_path / "warehouse.duckdb"), **BIG)
    package = bed.package
    assert len(package.models) == 1000 and len(package.branches) == 6
    results = bed.changed_only()
    assert bed.changed.built_everything and {r.status for r in results} <= {"success", "pass"}
    assert {r.model_name for r in results if r.resource_type == "model"} == package.models

    bed.load("b4", ["t2"], count=30)
    results = bed.changed_only()
    reached = package.downstream(["source:b4.t2"])
    assert 20 < len(reached) < 60
    bed.expect(results, dict.fromkeys(reached, "source b4.t2 fresher"), sources=["source:b4.t2"])
    assert bed.changed.unchanged_count >= 1000 - len(reached)
    assert not bed.changed.dbt_started  # freshness measured and selection made without asking dbt
    assert bed.differences_from_full_build() == {}

    assert bed.changed_only() == []
    assert bed.changed.reasons == {} and not bed.changed.built_everything and not bed.changed.dbt_started
    assert bed.differences_from_full_build(rebuild=False) == {}
