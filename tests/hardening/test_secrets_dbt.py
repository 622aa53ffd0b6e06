"""Secret scans with real dbt on PostgreSQL: a database error quoting the password, seen through every output.

The model ``leak_probe`` casts the password to an integer, so PostgreSQL's own error message quotes it; that
text must reach the CLI (at -v and -vv, human and JSON), exceptions (and their chained causes) and DEBUG logs
only masked. A clean run from ``--destination-file`` must leave no file holding the password anywhere.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import dbt_kickoff
from dbt_kickoff import DBTProcessingError
from tests.core.conftest import SHOP_PROJECT
from tests.postgres_server import PostgresServer


@pytest.fixture
def probe_project(tmp_path: Path, postgres: PostgresServer) -> Path:
    project = tmp_path / "shop"
    shutil.copytree(SHOP_PROJECT, project)
    (project / "models" / "leak_probe.sql").write_text(f"select cast('{postgres.password}' as integer) as x\n")
    return project


def _kickoff(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dbt_kickoff.cli.main", *args], capture_output=True, text=True,
                          timeout=600, env=env, cwd=cwd)


def _files_containing(root: Path, needle: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_text(errors="ignore")]


@pytest.mark.parametrize("verbosity", [["-v"], ["-vv"], ["-vv", "--json"]], ids=["-v", "-vv", "-vv --json"])
def test_cli_output_masks_a_database_error_quoting_the_password(
    postgres: PostgresServer, probe_project: Path, tmp_path: Path, verbosity: list[str]
) -> None:
    env = {**os.environ, "HARDENING_PG": postgres.url()}
    flags = [flag for flag in verbosity if flag != "--json"]
    json_flag = ["--json"] if "--json" in verbosity else []
    done = _kickoff(*flags, "run", str(probe_project), "--destination-env", "HARDENING_PG", "--command", "run",
                    "--select", "leak_probe", "--dataset-name", "hardening", *json_flag, env=env, cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    output = done.stdout + done.stderr
    assert "invalid input syntax" in output  # PostgreSQL's message reached the user...
    assert postgres.password not in output  # ...masked
    assert "***" in output
    if "-vv" in flags:
        assert " DEBUG " in done.stderr


def test_exceptions_chains_and_debug_logs_mask_it(
    postgres: PostgresServer, probe_project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with dbt_kickoff.package(postgres.url(), probe_project, dataset_name="hardening") as runner, \
            pytest.raises(DBTProcessingError) as caught:
        runner.run(["--select", "leak_probe"])
    error: BaseException | None = caught.value
    texts = [repr(runner)]
    while error is not None:
        texts += [str(error), repr(error)]
        error = error.__cause__ or error.__context__
    texts += [node.message or "" for node in caught.value.run_results]
    texts += [record.getMessage() for record in caplog.records]
    assert any("invalid input syntax" in text for text in texts)
    assert all(postgres.password not in text for text in texts)


def test_destination_file_run_leaves_no_file_with_the_password(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    project = tmp_path / "shop"
    shutil.copytree(SHOP_PROJECT, project)
    secret_file = tmp_path / "destination.url"
    secret_file.write_text(postgres.url() + "\n")
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    env = {**os.environ, "TMPDIR": str(sandbox), "XDG_CACHE_HOME": str(sandbox / "cache"),
           "XDG_STATE_HOME": str(sandbox / "state")}
    done = _kickoff("-vv", "run", str(project), "--destination-file", str(secret_file), "--command", "seed",
                    "--dataset-name", "hardening_file", env=env, cwd=sandbox)
    assert done.returncode == 0, done.stderr
    assert "warning: --destination holds a password" not in done.stderr  # the file kept it off argv
    assert postgres.password not in done.stdout + done.stderr
    assert _files_containing(project, postgres.password) == []
    assert _files_containing(sandbox, postgres.password) == []


def test_a_password_on_the_command_line_is_warned_about(postgres: PostgresServer, tmp_path: Path) -> None:
    done = _kickoff("run", str(tmp_path / "missing"), "--destination", postgres.url(), env=dict(os.environ),
                    cwd=tmp_path)
    assert done.returncode == 2
    assert "warning: --destination holds a password" in done.stderr
    assert postgres.password not in done.stderr


def test_json_destination_file(postgres: PostgresServer, tmp_path: Path) -> None:
    project = tmp_path / "shop"
    shutil.copytree(SHOP_PROJECT, project)
    secret_file = tmp_path / "destination.json"
    secret_file.write_text(json.dumps(postgres.credentials()))
    done = _kickoff("run", str(project), "--destination-file", str(secret_file), "--command", "seed",
                    "--dataset-name", "hardening_json", "--json", env=dict(os.environ), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["success"] is True
