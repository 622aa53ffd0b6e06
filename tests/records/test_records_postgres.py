"""Records of a PostgreSQL run: the password is in no file of the record, lineage names the server."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg2

import dbt_kickoff
from dbt_kickoff.records import open_record
from tests.core.conftest import ORDERS, SHOP_PROJECT
from tests.postgres_server import PostgresServer
from tests.records.conftest import break_model


def test_postgres_run_leaves_a_record_without_secrets(postgres: PostgresServer, tmp_path: Path) -> None:
    with psycopg2.connect(postgres.url()) as con, con.cursor() as cur:
        cur.execute("create schema if not exists raw_records")
        cur.execute("drop table if exists raw_records.orders cascade")
        cur.execute("create table raw_records.orders (id int, country text, amount float8, created_at date)")
        cur.executemany("insert into raw_records.orders values (%s, %s, %s, %s)", ORDERS)
    project = tmp_path / "shop"
    shutil.copytree(SHOP_PROJECT, project)
    records = tmp_path / "records"
    events = tmp_path / "events.jsonl"
    with dbt_kickoff.package(postgres.url(), project, dataset_name="records_pg", source_dataset_name="raw_records",
                             records=records, openlineage={"transport": {"type": "file",
                                                                         "log_file_path": str(events),
                                                                         "append": True}}) as runner:
        results = runner.build()
    assert {r.status for r in results} <= {"success", "pass"}
    record = open_record("latest", records)
    assert record.outcome == "success"
    assert record.data["destination"]["type"] == "postgres"
    assert record.identity.schema == "records_pg" and record.identity.adapter_type == "postgres"
    folder = Path(record.uri)
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert {"report.json", "manifest.json", "run_results.json", "dbt.log"} <= {p.name for p in files}
    assert all(postgres.password not in p.read_text(errors="ignore") for p in files)
    lines = [json.loads(line) for line in events.read_text().splitlines()]
    outputs = [o for e in lines for o in e.get("outputs", ())]
    assert outputs and {o["namespace"] for o in outputs} == {f"postgres://{postgres.host}:{postgres.port}"}
    assert any(o["name"].endswith("records_pg.revenue_by_country") for o in outputs)
    inputs = {i["name"] for e in lines for i in e.get("inputs", ())}
    assert any(name.endswith("raw_records.orders") for name in inputs)


def test_retry_of_a_postgres_record_takes_the_destination_like_run(postgres: PostgresServer,
                                                                   tmp_path: Path) -> None:
    """The record keeps no password: retry gets the destination from --destination-env, --destination-file or
    $DBT_KICKOFF_DESTINATION (as run does), never from a password on its command line."""
    with psycopg2.connect(postgres.url()) as con, con.cursor() as cur:
        cur.execute("create schema if not exists raw_retry")
        cur.execute("drop table if exists raw_retry.orders cascade")
        cur.execute("create table raw_retry.orders (id int, country text, amount float8, created_at date)")
        cur.executemany("insert into raw_retry.orders values (%s, %s, %s, %s)", ORDERS)
    project = tmp_path / "shop"
    shutil.copytree(SHOP_PROJECT, project)
    good = break_model(project)
    records = tmp_path / "records"
    env = {**os.environ, "PG_URL": postgres.url()}
    env.pop("DBT_KICKOFF_DESTINATION", None)

    def cli(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "dbt_kickoff.cli.main", *args], capture_output=True,
                              text=True, timeout=600, env={**env, **extra})

    failed = cli("run", str(project), "--destination-env", "PG_URL", "--dataset-name", "retry_pg",
                 "--source-dataset-name", "raw_retry", "--records", str(records), "--command", "build")
    assert failed.returncode == 1, failed.stderr
    resume = next(line for line in failed.stderr.splitlines() if line.startswith("resume with: "))
    assert resume.endswith("--destination-env PG_URL") and postgres.password not in failed.stderr
    record = open_record("latest", records).uri

    (project / "models" / "stg_orders.sql").write_text(good)
    refused = cli("retry", record)
    assert refused.returncode == 2 and "--destination-env NAME" in refused.stderr
    file = tmp_path / "destination.txt"
    file.write_text(postgres.url())
    for how, extra in ((["--destination-file", str(file)], {}), ([], {"DBT_KICKOFF_DESTINATION": postgres.url()}),
                       (shlex.split(resume.removeprefix("resume with: "))[3:], {})):
        retried = cli("retry", record, "--json", *how, **extra)
        assert retried.returncode == 0, retried.stderr
        assert postgres.password not in retried.stdout + retried.stderr
        statuses = {r["status"] for s in json.loads(retried.stdout)["steps"] for r in s["results"]}
        assert statuses <= {"success", "pass"}
