"""Generated profiles really connect: `dbt debug` (dbtRunner, in a subprocess) on DuckDB and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import dlt
import pytest

from dbt_kickoff.profiles import resolve_destination
from tests.postgres_server import PostgresServer
from tests.profiles.conftest import files_containing, run_dbt_debug


@pytest.mark.slow
def test_dbt_debug_connects_to_a_duckdb_file(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    pipeline = dlt.pipeline(
        "kick_debug_duck",
        destination=dlt.destinations.duckdb(str(db)),
        dataset_name="raw",
        pipelines_dir=str(tmp_path / "pipes"),
    )
    pipeline.run([{"id": 1}], table_name="t")
    profile = resolve_destination(pipeline)
    assert profile is not None
    run = run_dbt_debug(profile, tmp_path)
    assert run.returncode == 0, run.output
    assert "Connection test: [OK connection ok]" in run.output


@pytest.mark.slow
def test_dbt_debug_connects_to_postgres_with_secret_env(postgres: PostgresServer, tmp_path: Path) -> None:
    profile = resolve_destination(postgres.url(), dataset_name="analytics")
    assert profile is not None and profile.secret_env
    run = run_dbt_debug(profile, tmp_path)
    assert run.returncode == 0, run.output
    assert "Connection test: [OK connection ok]" in run.output
    assert postgres.password not in run.output
    assert files_containing(run.project_dir, postgres.password) == []


@pytest.mark.slow
def test_wrong_postgres_password_fails_without_showing_it(postgres: PostgresServer, tmp_path: Path) -> None:
    wrong = "Wr0ng-Pg-Passw0rd-x7"
    profile = resolve_destination(postgres.url(password=wrong))
    assert profile is not None
    run = run_dbt_debug(profile, tmp_path)
    assert run.returncode != 0
    assert "password authentication failed" in run.output
    assert wrong not in run.output
    assert files_containing(run.project_dir, wrong) == []
