"""Generated profiles really connect: `dbt debug` (dbtRunner, in a subprocess) on DuckDB and PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
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


_VALIDATE_SCRIPT = """
import json, re, sys
from dbt.adapters.duckdb.credentials import DuckDBCredentials
output, env = json.loads(sys.argv[1]), json.loads(sys.argv[2])
ref = re.compile(r"\\{\\{ env_var\\('([A-Z0-9_]+)'\\) \\}\\}")
rendered = {k: ref.sub(lambda m: env[m.group(1)], v) if isinstance(v, str) else v for k, v in output.items()}
rendered.pop("type"); rendered.pop("threads")
creds = DuckDBCredentials.from_dict(rendered)
token_set = creds.settings.get("motherduck_token") == env["DBT_ENV_SECRET_MOTHERDUCK_TOKEN"]
print(json.dumps({"motherduck": creds.is_motherduck, "token_set": token_set, "path": creds.path,
                  "schema": creds.schema}))
"""


@pytest.mark.slow
def test_motherduck_profile_is_valid_for_dbt_duckdb() -> None:
    """dbt-duckdb accepts the generated MotherDuck fields (not connecting: that needs the extension)."""
    token = "md-T0ken-value"
    profile = resolve_destination(f"md:analytics?motherduck_token={token}", dataset_name="raw")
    assert profile is not None
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            _VALIDATE_SCRIPT,
            json.dumps(dict(profile.output)),
            json.dumps(dict(profile.secret_env)),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {
        "motherduck": True,
        "token_set": True,
        "path": "md:analytics",
        "schema": "raw",
    }
