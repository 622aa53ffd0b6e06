"""Issue 19 on PostgreSQL (the tests' own server): a changed-only call into another database with the same
schema name, and a killed run, end as a full build's tables would (each database compared with a full build of
a copy of it, made as a template)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from bench.branch_loads import Warehouse

from tests.postgres_server import PostgresServer
from tests.soundness.bed import Bed, create_database
from tests.soundness.conftest import edit, first_build, new_bed
from tests.soundness.package import SCHEMA, TABLE_MODELS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

SLOW_POSTGRES_MODEL = ("{{ config(materialized='table') }}\n"
                       "select count(*) as orders from {{ ref('orders') }} cross join (select pg_sleep(120)) as s\n")


DATABASES = ("sound_a", "sound_pristine", "sound_b", "sound_a_reference", "sound_b_reference")


@pytest.fixture(scope="module")
def built_pg_bed(postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The package built once into database sound_a (checked against a full build), kept as the folder
    ``pristine`` and the database sound_pristine (a template copy) for each test to start from."""
    credentials = {k: v for k, v in postgres.credentials().items() if k != "type"}
    base = tmp_path_factory.mktemp("soundness_pg")
    create_database(credentials, "sound_a")
    try:
        first_build(new_bed(base / "bed", Warehouse(postgres={**credentials, "dbname": "sound_a"}),
                            big_seed=False))
        shutil.copytree(base / "bed", base / "pristine", symlinks=True)
        create_database(credentials, "sound_pristine", template="sound_a")
        yield base
    finally:
        con = psycopg2.connect(**credentials)
        con.autocommit = True
        with con.cursor() as cur:
            for name in DATABASES:
                cur.execute(f'drop database if exists "{name}" with (force)')
        con.close()


@pytest.fixture
def pg_bed(built_pg_bed: Path, postgres: PostgresServer) -> Bed:
    """The PostgreSQL bed as it was after its first build: database sound_a (same name, so its records
    match), package and records."""
    credentials = {k: v for k, v in postgres.credentials().items() if k != "type"}
    root = built_pg_bed / "bed"
    shutil.rmtree(root)
    shutil.rmtree(root.with_name(f"{root.name}_reference"), ignore_errors=True)
    shutil.copytree(built_pg_bed / "pristine", root, symlinks=True)
    create_database(credentials, "sound_a", template="sound_pristine")
    return Bed(root, Warehouse(postgres={**credentials, "dbname": "sound_a"}))


def test_another_database_with_the_same_schema_gets_every_table(pg_bed: Bed) -> None:
    """Scenario 1: sound_b holds the same loaded sources (a template copy, models dropped)."""
    assert pg_bed.warehouse.postgres is not None
    create_database(pg_bed.warehouse.postgres, "sound_b", template="sound_a")
    fresh = {**pg_bed.warehouse.postgres, "dbname": "sound_b"}
    with psycopg2.connect(**fresh) as con, con.cursor() as cur:
        cur.execute(f"drop schema {SCHEMA} cascade")
    con.close()
    checked = Bed(pg_bed.root, Warehouse(postgres=fresh)).changed_only()
    assert checked.differences == {}, checked
    assert set(checked.outcome.built()) == TABLE_MODELS, checked


def test_a_killed_run_is_seen_by_the_next_call(pg_bed: Bed) -> None:
    """Scenario 5: the call building a change of orders is killed while a model after it sleeps in
    PostgreSQL; the change is rolled back; the next changed-only call must rebuild what it touched."""
    orders, slow = pg_bed.project / "models/marts/orders.sql", pg_bed.project / "models/marts/orders_by_status.sql"
    originals = {path: path.read_text(encoding="utf-8") for path in (orders, slow)}
    edit(orders, "o.amount,", "o.amount * 2 as amount,")
    slow.write_text(SLOW_POSTGRES_MODEL, encoding="utf-8")
    pg_bed.killed_call("build", {"changed_only": True}, when_started="orders_by_status", after_seconds=5)
    assert pg_bed.warehouse.postgres is not None
    with psycopg2.connect(**pg_bed.warehouse.postgres) as con, con.cursor() as cur:
        cur.execute(f"select max(amount) from {SCHEMA}.orders")
        row = cur.fetchone()
    con.close()
    assert row is not None and row[0] > 101, "the killed call did not build orders with its change"
    for path, text in originals.items():
        path.write_text(text, encoding="utf-8")
    checked = pg_bed.changed_only()
    assert checked.differences == {}, checked
