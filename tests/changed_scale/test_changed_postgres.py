"""Changed-only builds on PostgreSQL (a real server): a dlt-loaded table and a ``loaded_at`` table receive rows;
only their downstream is built, and every table equals a full build of the same data (in another schema)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from bench.branch_loads import Warehouse

from tests.changed_scale.bed import make_bed
from tests.postgres_server import PostgresServer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]  # minutes when the machine is shared

PACKAGE = {"models": 40, "branches": 4, "dlt_branches": 2, "tables": 2, "layers": 3, "test_every": 4,
           "failing": False}


@pytest.fixture
def database(postgres: PostgresServer) -> Iterator[dict[str, Any]]:
    """A database of its own on the session's server (its schemas clash with no other test's)."""
    admin = {k: v for k, v in postgres.credentials().items() if k != "type"}
    con = psycopg2.connect(**admin)
    con.autocommit = True
    with con.cursor() as cur:
        cur.execute("drop database if exists changed_scale")
        cur.execute("create database changed_scale")
    try:
        yield {**admin, "dbname": "changed_scale"}
    finally:
        with con.cursor() as cur:
            cur.execute("drop database if exists changed_scale with (force)")
        con.close()


def test_postgres_changed_sources(tmp_path: Path, database: dict[str, Any]) -> None:
    bed = make_bed(tmp_path, Warehouse(postgres=database), **PACKAGE)
    package = bed.package
    results = bed.changed_only()
    assert bed.changed.built_everything and {r.status for r in results} <= {"success", "pass"}

    bed.load("b1", ["t0"])
    bed.load("b3", ["t1"])
    results = bed.changed_only()
    expected = dict.fromkeys(package.downstream(["source:b1.t0"]), "new dlt load in dlt_b1.t0")
    expected.update(dict.fromkeys(package.downstream(["source:b3.t1"]), "source b3.t1 fresher"))
    bed.expect(results, expected, sources=["source:b1.t0", "source:b3.t1"])
    assert bed.differences_from_full_build() == {}

    assert bed.changed_only() == []
    assert bed.differences_from_full_build(rebuild=False) == {}
