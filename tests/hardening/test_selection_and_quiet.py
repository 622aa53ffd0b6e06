"""Empty selections are visible (exit 0, or 2 with --fail-on-empty-selection); the library prints nothing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import dbt_kickoff
from tests.core.conftest import SHOP_PROJECT, load_orders_duckdb


@pytest.fixture
def project(tmp_path: Path) -> Path:
    target = tmp_path / "shop"
    shutil.copytree(SHOP_PROJECT, target)
    return target


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    load_orders_duckdb(path)
    return path


def _kickoff(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dbt_kickoff.cli.main", *args], capture_output=True, text=True,
                          timeout=600, env=env)


def test_empty_selection_is_reported_on_the_step(project: Path, warehouse: Path) -> None:
    with dbt_kickoff.package(f"duckdb:///{warehouse}", project) as runner:
        assert runner.build(["--select", "no_such_model"]) == []
        assert [step.nothing_selected for step in runner.last_report.steps] == [True]
        runner.seed()
        assert [step.nothing_selected for step in runner.last_report.steps] == [False]


def test_cli_empty_selection_exit_0_with_a_line_or_2_when_asked(project: Path, warehouse: Path) -> None:
    env = {**os.environ, "DBT_KICKOFF_DESTINATION": f"duckdb:///{warehouse}"}  # the default variable
    args = ["run", str(project), "--command", "build", "--select", "no_such_model"]
    quiet = _kickoff(*args, "--json", env=env)
    assert quiet.returncode == 0, quiet.stderr
    assert "matched no nodes" in quiet.stderr
    assert json.loads(quiet.stdout)["steps"][0]["nothing_selected"] is True
    strict = _kickoff(*args, "--fail-on-empty-selection", env=env)
    assert strict.returncode == 2
    assert "matched no nodes" in strict.stderr


def test_without_logging_configured_nothing_reaches_stderr(project: Path, warehouse: Path) -> None:
    (project / "models" / "broken.sql").write_text(
        "{{ config(materialized='table') }}\nselect cast('not a number' as integer) as x\n")
    script = textwrap.dedent(f"""
        import dbt_kickoff
        runner = dbt_kickoff.package("duckdb:///{warehouse}", {str(project)!r})
        try:
            runner.run(["--select", "broken"])
        except dbt_kickoff.DBTProcessingError as exc:
            assert "broken" in str(exc)
        else:
            raise SystemExit("the broken model did not fail")
        finally:
            runner.close()
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "" and done.stdout == ""
