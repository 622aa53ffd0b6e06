"""The test bed itself: the generated package, the table-equality helper and the full-build baseline."""

from __future__ import annotations

import filecmp
import shutil
from pathlib import Path

import duckdb
import pytest
from bench.branch_loads import Warehouse, create_fix
from bench.generate_package import generate_branched_package
from bench.table_equality import duckdb_differences, postgres_differences

from tests.changed_scale.bed import SCHEMA, SMALL, built, make_bed
from tests.postgres_server import PostgresServer


def test_generated_package_is_deterministic_and_branched(tmp_path: Path) -> None:
    first = generate_branched_package(tmp_path / "a", 1000)
    second = generate_branched_package(tmp_path / "b", 1000)
    comparison = filecmp.dircmp(first.path, second.path)
    assert not comparison.diff_files and not comparison.left_only and not comparison.right_only
    assert len(first.models) == 1000 == len(list(first.path.glob("models/*/*.sql")))
    assert [b.loader for b in first.branches] == ["dlt"] * 3 + ["plain"] * 3
    assert first.macro_users and first.seed_users == {f"b{k}_mart_0" for k in range(6)}
    # one source table reaches its own stream and its branch's marts, nothing in another branch
    reached = first.downstream(["source:b4.t2"])
    assert {m.split("_")[0] for m in reached} == {"b4"}
    assert {"b4_mart_0", "b4_mart_1"} <= reached and len(reached) < 60
    assert first.failing_model is not None and first.failing_model.startswith("b5_")


def _two_files(tmp_path: Path) -> tuple[Path, Path]:
    paths = tmp_path / "left.duckdb", tmp_path / "right.duckdb"
    for path in paths:
        with duckdb.connect(str(path)) as con:
            con.execute(f"create schema {SCHEMA}")
            con.execute(f"create table {SCHEMA}.same as select range as id, range * 2 as x from range(50)")
            con.execute(f"create table {SCHEMA}.changed as select range as id from range(50)")
            con.execute(f"create table {SCHEMA}.doubled as select range as id from range(5)")
            con.execute(f"create view {SCHEMA}.v as select * from {SCHEMA}.changed where id < 10")
    with duckdb.connect(str(paths[1])) as con:
        con.execute(f"update {SCHEMA}.changed set id = 1000 where id = 3")
        con.execute(f"insert into {SCHEMA}.doubled values (4)")  # a duplicate: only EXCEPT ALL sees it
        con.execute(f"create table {SCHEMA}.extra (id integer)")
    return paths


def test_table_equality_names_the_differing_tables_duckdb(tmp_path: Path) -> None:
    left, right = _two_files(tmp_path)
    found = duckdb_differences(left, right, SCHEMA)
    assert sorted(found) == ["changed", "doubled", "extra", "v"]
    assert found["changed"] == "1 rows only on the left, 1 only on the right"
    assert found["doubled"] == "0 rows only on the left, 1 only on the right"
    assert found["extra"] == "only on the right"
    twin = shutil.copy2(left, tmp_path / "twin.duckdb")
    assert duckdb_differences(left, Path(twin), SCHEMA) == {}
    with pytest.raises(ValueError, match="same name"):
        duckdb_differences(left, tmp_path / "other" / left.name, SCHEMA)


def test_table_equality_postgres(postgres: PostgresServer) -> None:
    import psycopg2

    credentials = postgres.credentials()
    con = psycopg2.connect(**{k: v for k, v in credentials.items() if k != "type"})
    with con, con.cursor() as cur:
        for schema in ("eq_left", "eq_right"):
            cur.execute(f"drop schema if exists {schema} cascade; create schema {schema}")
            cur.execute(f"create table {schema}.same as select g as id from generate_series(1, 20) g")
            cur.execute(f"create table {schema}.changed as select g as id from generate_series(1, 20) g")
            cur.execute(f"create table {schema}.typed as select g as id from generate_series(1, 3) g")
        cur.execute("delete from eq_right.changed where id = 7")
        cur.execute("drop table eq_right.typed; create table eq_right.typed as select 'x'::text as id")
    con.close()
    found = postgres_differences(credentials, "eq_left", "eq_right")
    assert sorted(found) == ["changed", "typed"]
    assert found["changed"] == "1 rows only on the left, 0 only on the right"
    assert found["typed"].startswith("cannot compare")
    assert postgres_differences(credentials, "eq_left", "eq_left") == {}


@pytest.mark.slow
def test_full_build_baseline(tmp_path: Path) -> None:
    """A full build of the generated package passes but for the failing model (and its skipped downstream),
    and equals a full build of the same data on a copy; once the failing model's table exists, all pass."""
    bed = make_bed(tmp_path, Warehouse(duckdb_path=tmp_path / "warehouse.duckdb"), **SMALL)
    failing = bed.package.failing_model
    assert failing is not None
    results = bed.build()
    assert {r.model_name for r in results if r.status == "error"} == {failing}
    blocked = bed.package.downstream([failing]) - {failing}
    assert blocked and {r.model_name for r in results if r.status == "skipped"} >= blocked
    assert built(results) == bed.package.models - blocked
    assert built(results, "seed") == {"label_groups"}
    assert bed.differences_from_full_build() == {}

    create_fix(bed.warehouse)
    results = bed.build()
    assert {r.status for r in results} <= {"success", "pass"}
    assert built(results) == bed.package.models
