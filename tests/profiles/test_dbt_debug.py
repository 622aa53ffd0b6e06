"""Generated profiles really connect: `dbt debug` (dbtRunner, in a subprocess) on DuckDB and PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys

import dlt
import pytest

from dbt_kickoff.profiles import resolve_destination
from tests.postgres_server import PostgresServer
from tests.profiles.conftest import DebugRun, files_containing, run_dbt_debug

WRONG_PASSWORD = "Wr0ng-Pg-Passw0rd-x7"


@pytest.fixture(scope="module")
def debug_runs(postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, DebugRun]:
    """One dbt process checks the generated profiles: a dlt DuckDB file, PostgreSQL, PostgreSQL with a bad
    password, an unreachable host."""
    root = tmp_path_factory.mktemp("debug")
    db = root / "w.duckdb"
    pipeline = dlt.pipeline(
        "kick_debug_duck",
        destination=dlt.destinations.duckdb(str(db)),
        dataset_name="raw",
        pipelines_dir=str(root / "pipes"),
    )
    pipeline.run([{"id": 1}], table_name="t")
    profiles = {
        "duckdb": resolve_destination(pipeline),
        "postgres": resolve_destination(postgres.url(), dataset_name="analytics"),
        "wrong_password": resolve_destination(postgres.url(password=WRONG_PASSWORD)),
        # TEST-NET-1: never routed, so connecting can only end by the connect timeout (or at once, offline)
        "unreachable": resolve_destination(
            f"postgresql://u:{WRONG_PASSWORD}@192.0.2.1:5432/db", connect_timeout=1
        ),
    }
    jobs = [(profile, root / name) for name, profile in profiles.items() if profile is not None]
    return dict(zip(profiles, run_dbt_debug(jobs), strict=True))


@pytest.mark.slow
def test_dbt_debug_connects_to_a_duckdb_file(debug_runs: dict[str, DebugRun]) -> None:
    run = debug_runs["duckdb"]
    assert run.success, run.output
    assert "Connection test: [OK connection ok]" in run.output


@pytest.mark.slow
def test_dbt_debug_connects_to_postgres_with_secret_env(
    debug_runs: dict[str, DebugRun], postgres: PostgresServer
) -> None:
    run = debug_runs["postgres"]
    assert run.success, run.output
    assert "Connection test: [OK connection ok]" in run.output and "schema: analytics" in run.output
    assert postgres.password not in run.output
    assert files_containing(run.project_dir.parent.parent, postgres.password) == []


@pytest.mark.slow
def test_wrong_postgres_password_fails_without_showing_it(debug_runs: dict[str, DebugRun]) -> None:
    run = debug_runs["wrong_password"]
    assert not run.success
    assert "password authentication failed" in run.output
    assert WRONG_PASSWORD not in run.output
    assert files_containing(run.project_dir.parent.parent, WRONG_PASSWORD) == []


@pytest.mark.slow
def test_unreachable_host_fails_with_the_short_connect_timeout(debug_runs: dict[str, DebugRun]) -> None:
    run = debug_runs["unreachable"]
    assert not run.success
    assert "connect_timeout: 1" in run.output and "retries: 1" in run.output
    assert "unable to connect" in run.output
    assert WRONG_PASSWORD not in run.output


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
