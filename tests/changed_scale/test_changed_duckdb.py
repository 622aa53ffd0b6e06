"""Changed-only builds on a generated branched package (real dbt, real DuckDB files, real dlt loads): each call
builds exactly what its change reaches, says why, and leaves every table as a full build of the same data
would (compared with ``EXCEPT ALL`` both ways against a full build on a copy)."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench.branch_loads import Warehouse, create_fix

from tests.changed_scale.bed import SMALL, Bed, make_bed

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]  # minutes when the machine is shared

FIRST_RUN = "no usable previous run: first run (no record of this package and target)"


def _bed(tmp_path: Path, **generator: object) -> Bed:
    bed = make_bed(tmp_path, Warehouse(duckdb_path=tmp_path / "warehouse.duckdb"), **{**SMALL, **generator})
    create_fix(bed.warehouse)
    results = bed.changed_only()
    assert {r.status for r in results} <= {"success", "pass"}
    bed.expect(results, dict.fromkeys(bed.package.models, FIRST_RUN),
               sources=[f"source:{b.name}.{t}" for b in bed.package.branches for t in b.tables],
               seeds=["label_groups"])
    assert bed.changed.full_build_reason == FIRST_RUN.split(": ", 1)[1]
    return bed


def test_code_changes_and_a_fixed_failure(tmp_path: Path) -> None:
    bed = _bed(tmp_path)
    package = bed.package

    # one model's SQL: it and its downstream
    model = "b1_t1_m2_000"
    bed.edit(f"models/b1/{model}.sql", " as amount", " + 1 as amount")
    results = bed.changed_only()
    bed.expect(results, dict.fromkeys(package.downstream([model]), "code changed"))
    assert bed.differences_from_full_build() == {}

    # a macro: its users and their downstream
    bed.edit("macros/scaled.sql", ", 2)", ", 1)")
    results = bed.changed_only()
    assert package.macro_users
    bed.expect(results, dict.fromkeys(package.downstream(package.macro_users), "code changed"))
    assert bed.differences_from_full_build() == {}

    # a model breaks (it reads a table that does not exist): it fails, its downstream is skipped
    failing = package.failing_model
    assert failing is not None
    broken = failing.split("_")[0]
    bed.edit(f"models/{broken}/{failing}.sql", "raw_fix.factors", "raw_fix.factors_v2")
    results = bed.changed_only()
    blocked = package.downstream([failing]) - {failing}
    assert blocked
    bed.expect(results, dict.fromkeys(package.downstream([failing]), "code changed"))
    assert {r.model_name for r in results if r.status == "error"} == {failing}
    assert {r.model_name for r in results if r.resource_type == "model" and r.status == "skipped"} == blocked
    assert bed.differences_from_full_build() == {}

    # fixed (the edit reverted): it and its skipped downstream, for those reasons alone
    bed.edit(f"models/{broken}/{failing}.sql", "raw_fix.factors_v2", "raw_fix.factors")
    results = bed.changed_only()
    bed.expect(results, {failing: "failed last time", **dict.fromkeys(blocked, "skipped last time")})
    assert {r.status for r in results} <= {"success", "pass"}
    assert bed.differences_from_full_build() == {}


def test_data_changes_and_nothing_changed(tmp_path: Path) -> None:
    bed = _bed(tmp_path)
    package = bed.package
    plain = next(b for b in package.branches if b.loader == "plain")
    dlt = next(b for b in package.branches if b.loader == "dlt")

    # one dlt-loaded table (30 new rows, a new dlt load) and one plain table (newer loaded_at)
    bed.load(dlt.name, ["t1"])
    bed.load(plain.name, ["t0"])
    results = bed.changed_only()
    expected = dict.fromkeys(package.downstream([f"source:{dlt.name}.t1"]), f"new dlt load in {dlt.schema}.t1")
    expected.update(dict.fromkeys(package.downstream([f"source:{plain.name}.t0"]), f"source {plain.name}.t0 fresher"))
    bed.expect(results, expected, sources=[f"source:{dlt.name}.t1", f"source:{plain.name}.t0"])
    assert not bed.changed.built_everything
    assert bed.differences_from_full_build() == {}

    # nothing changed: no dbt node runs (dbt starts only to measure the plain sources' freshness)
    assert bed.changed_only() == []
    assert bed.changed.reasons == {} and not bed.changed.built_everything
    assert bed.changed.unchanged_count >= len(package.models)
    assert bed.differences_from_full_build(rebuild=False) == {}


def test_nothing_can_have_changed_dbt_is_not_started(tmp_path: Path) -> None:
    """Every source is loaded by dlt: its load ids tell without dbt, so an unchanged package starts no dbt."""
    bed = _bed(tmp_path, models=20, branches=2, dlt_branches=2, failing=False)
    assert bed.changed_only() == []
    assert bed.changed.dbt_started is False
    assert bed.changed.reasons == {} and bed.changed.baseline is not None

    bed.load("b1", ["t0"])
    results = bed.changed_only()
    bed.expect(results, dict.fromkeys(bed.package.downstream(["source:b1.t0"]), "new dlt load in dlt_b1.t0"),
               sources=["source:b1.t0"])
    assert bed.differences_from_full_build() == {}
