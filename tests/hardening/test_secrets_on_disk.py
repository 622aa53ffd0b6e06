"""No file left on disk holds the password, even when the database quotes it in an error (real dbt, PostgreSQL).

The password is a value in a loaded table (not in any file of the package): the model casts it to an integer,
so PostgreSQL's error quotes it, and dbt writes that error into ``logs/dbt.log``, ``run_results.json`` and the
run record (dbt masks the values of its ``DBT_ENV_SECRET_*`` variables itself; a connection string of another
system, stored as data, only the runner's masker catches). Every file under the package (target/, logs/), the
records folder, the temp and state folders, and the CLI's stdout/stderr at -v/-vv must show them masked only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest

import dbt_kickoff
from dbt_kickoff import DBTProcessingError
from dbt_kickoff.redaction import Redactor, redact_file, redact_json_text
from tests.postgres_server import PostgresServer

SOURCE_SCHEMA = "leak_source"
# a connection string of another system stored as data: dbt does not know its password, our masker must
REPLICA_PASSWORD = "Replica-Pass-7781"
REPLICA_DSN = f"postgresql://etl:{REPLICA_PASSWORD}@replica.internal:5432/prod"


@pytest.fixture
def leaking_project(tmp_path: Path, postgres: PostgresServer) -> Path:
    """A package whose model fails with a database error quoting the password (a value of its source table)."""
    with psycopg2.connect(host=postgres.host, port=postgres.port, user=postgres.user, password=postgres.password,
                          dbname=postgres.dbname) as connection, connection.cursor() as cursor:
        cursor.execute(f"create schema if not exists {SOURCE_SCHEMA}")
        cursor.execute(f"drop table if exists {SOURCE_SCHEMA}.settings")
        cursor.execute(f"create table {SOURCE_SCHEMA}.settings (name text, value text)")
        cursor.execute(f"insert into {SOURCE_SCHEMA}.settings values ('dsn_password', %s), ('replica_dsn', %s)",
                       (postgres.password, REPLICA_DSN))
    project = tmp_path / "leaky"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: leaky\nprofile: leaky\nversion: '1.0'\nconfig-version: 2\n")
    (project / "models" / "sources.yml").write_text(
        f"version: 2\nsources:\n  - name: app\n    schema: {SOURCE_SCHEMA}\n    tables:\n      - name: settings\n"
    )
    for model, setting in (("leak_probe", "dsn_password"), ("dsn_probe", "replica_dsn")):
        (project / "models" / f"{model}.sql").write_text(
            "{{ config(materialized='table') }}\nselect cast(value as integer) as port from "
            f"{{{{ source('app', 'settings') }}}} where name = '{setting}'\n"
        )
    return project


def _sandbox_env(root: Path) -> dict[str, str]:
    return {**os.environ, "TMPDIR": str(root / "tmp"), "XDG_CACHE_HOME": str(root / "cache"),
            "XDG_STATE_HOME": str(root / "state"), "XDG_DATA_HOME": str(root / "data")}


def _files_holding(needle: str, *roots: Path) -> list[str]:
    found = []
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and needle.encode() in path.read_bytes():
                found.append(str(path))
    return found


@pytest.mark.parametrize("verbosity", ["-v", "-vv"])
def test_cli_run_that_fails_on_a_quoted_password_leaves_it_nowhere(
    postgres: PostgresServer, leaking_project: Path, tmp_path: Path, verbosity: str
) -> None:
    sandbox, records = tmp_path / "sandbox", tmp_path / "records"
    for folder in (sandbox / "tmp", records):
        folder.mkdir(parents=True)
    env = {**_sandbox_env(sandbox), "LEAK_PG": postgres.url()}
    done = subprocess.run(
        [sys.executable, "-m", "dbt_kickoff.cli.main", verbosity, "run", str(leaking_project), "--destination-env",
         "LEAK_PG", "--command", "run", "--dataset-name", "leak_out", "--records", str(records)],
        capture_output=True, text=True, timeout=600, env=env, cwd=sandbox,
    )
    assert done.returncode == 1, done.stderr
    assert "invalid input syntax for type integer" in done.stdout + done.stderr  # the database's own error...
    assert postgres.password not in done.stdout + done.stderr  # ...masked
    assert REPLICA_PASSWORD not in done.stdout + done.stderr
    written = [p for p in records.rglob("*") if p.is_file()]
    assert any(p.name == "run_results.json" for p in written) and any(p.name == "dbt.log" for p in written)
    assert any(p.name == "run_results.json" for p in (leaking_project / "target").rglob("*"))
    assert "invalid input syntax" in (leaking_project / "logs" / "dbt.log").read_text()
    for secret in (postgres.password, REPLICA_PASSWORD):
        assert _files_holding(secret, leaking_project, records, sandbox) == []


def test_api_run_masks_dbt_log_run_results_and_the_record(
    postgres: PostgresServer, leaking_project: Path, tmp_path: Path
) -> None:
    records = tmp_path / "records"
    with dbt_kickoff.package(postgres.url(), leaking_project, dataset_name="leak_api", records=records) as runner:
        with pytest.raises(DBTProcessingError) as caught:
            runner.run()
        run_results = runner.target_path() / "run_results.json"
        assert "invalid input syntax" in json.dumps(json.loads(run_results.read_text()))  # still valid JSON
        assert "postgresql://etl:***@replica.internal" in run_results.read_text()
        with pytest.raises(DBTProcessingError):  # a second call appends to dbt.log: masked as well
            runner.run()
    assert postgres.password not in str(caught.value) and REPLICA_PASSWORD not in str(caught.value)
    for secret in (postgres.password, REPLICA_PASSWORD):
        assert _files_holding(secret, leaking_project, records) == []


def test_the_git_token_is_masked_by_the_runner(tmp_path: Path) -> None:
    token = "ghp_runnerMaskTest0123456789"
    runner = dbt_kickoff.package({"type": "duckdb", "path": str(tmp_path / "x.duckdb")},
                                 "https://git.example.com/analytics/shop.git", package_repository_token=token,
                                 records=False)
    assert runner.session.redact(f"fatal: could not read from {token}") == "fatal: could not read from ***"


def test_masking_a_json_artifact_keeps_it_json() -> None:
    redact = Redactor(["hunter2-secret"])
    text = json.dumps({"args": {"sqlparse": {"MAX_GROUPING_TOKENS": None}, "n": 3},
                       "results": [{"message": "bad value 'hunter2-secret' at postgresql://u:pw@h/db"}]})
    masked = redact_json_text(text, redact)
    data = json.loads(masked)
    assert data["args"]["sqlparse"] == {"MAX_GROUPING_TOKENS": None}
    assert data["results"][0]["message"] == "bad value '***' at postgresql://u:***@h/db"
    clean = json.dumps({"sqlparse": {"MAX_GROUPING_TOKENS": None}})
    assert redact_json_text(clean, redact) == clean  # nothing to mask: the very same text


def test_redact_file_masks_what_was_appended_and_keeps_the_rest(tmp_path: Path) -> None:
    log = tmp_path / "dbt.log"
    earlier = "an earlier run: password=was-masked-then-or-not\n"
    log.write_text(earlier + "this command: value 'hunter2-secret' at postgresql://u:pw@h/db\n")
    redact = Redactor(["hunter2-secret"])
    assert redact_file(log, redact, start=len(earlier))
    assert log.read_text() == earlier + "this command: value '***' at postgresql://u:***@h/db\n"
    assert not redact_file(log, redact, start=len(earlier))  # nothing left to mask: not rewritten
    assert redact_file(log, redact, start=10**9)  # rotated or replaced: the whole file
    assert "was-masked-then-or-not" not in log.read_text()
    assert not redact_file(tmp_path / "absent.log", redact)
