"""The Core runner on a real PostgreSQL server: results, secrets that never leak, bounded failures."""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import time
from pathlib import Path

import psycopg2
import pytest

import dbt_kickoff
from dbt_kickoff import DBTProcessingError
from tests.core.conftest import ORDERS
from tests.postgres_server import PostgresServer


@pytest.fixture
def pg_orders(postgres: PostgresServer) -> PostgresServer:
    with psycopg2.connect(host=postgres.host, port=postgres.port, user=postgres.user,
                          password=postgres.password, dbname=postgres.dbname) as con, con.cursor() as cur:
        cur.execute("create schema if not exists raw_data")
        cur.execute("drop table if exists raw_data.orders cascade")
        cur.execute("create table raw_data.orders (id int, country text, amount float8, created_at date)")
        cur.executemany("insert into raw_data.orders values (%s, %s, %s, %s)", ORDERS)
    return postgres


def _files_containing(root: Path, needle: str) -> list[Path]:
    hits = []
    for path in root.rglob("*"):
        if path.is_file():
            try:
                if needle in path.read_text(errors="ignore"):
                    hits.append(path)
            except OSError:
                continue
    return hits


def test_run_all_on_postgres(pg_orders: PostgresServer, shop_project: Path) -> None:
    with dbt_kickoff.package(pg_orders.url(), shop_project, dataset_name="analytics_pg") as runner:
        results = runner.run_all(additional_vars={"source_dataset_name": "raw_data"})
    assert {r.status for r in results} <= {"success", "pass"}
    assert len([r for r in results if r.resource_type == "model"]) == 3
    with psycopg2.connect(pg_orders.url()) as con, con.cursor() as cur:
        cur.execute("select sum(orders) from analytics_pg.revenue_by_country")
        assert cur.fetchone() == (60,)
    # the password reached dbt only through the environment: not in any file the run left behind
    assert _files_containing(shop_project, pg_orders.password) == []


def test_wrong_password_is_clear_and_never_leaks(
    pg_orders: PostgresServer, shop_project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "Wr0ng-Secret-Pa55word"
    temp_before = set(os.listdir(tempfile.gettempdir()))
    runner = dbt_kickoff.package(pg_orders.url(password=wrong), shop_project, dataset_name="analytics_pg")
    with pytest.raises(DBTProcessingError) as info:
        runner.seed()
    runner.close()
    text = str(info.value)
    assert "password authentication failed" in text
    assert wrong not in text and wrong not in repr(info.value) and wrong not in repr(runner)
    assert all(wrong not in record.getMessage() for record in caplog.records)
    assert _files_containing(shop_project, wrong) == []
    new_temp = set(os.listdir(tempfile.gettempdir())) - temp_before
    for name in new_temp:
        assert _files_containing(Path(tempfile.gettempdir()) / name, wrong) == []


def test_unreachable_host_fails_in_bounded_time(shop_project: Path) -> None:
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.monotonic()
    with dbt_kickoff.package(f"postgresql://kickoff:pw@127.0.0.1:{port}/postgres", shop_project,
                             dataset_name="x", connect_timeout=3) as runner, pytest.raises(DBTProcessingError) as info:
        runner.seed()
    assert time.monotonic() - started < 120  # generous bound: it must not hang
    assert "connection" in str(info.value).lower()
