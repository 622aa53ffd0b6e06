"""Engines: the subprocess engine gives the same results, timeouts stop dbt, a missing dbt is explained."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import dbt_kickoff
from dbt_kickoff import PrerequisitesException
from dbt_kickoff.environments import DbtEnvironment
from dbt_kickoff.errors import DbtCancelled
from tests.slow_sql import slow_duckdb_model

RAW = {"source_dataset_name": "raw_data"}


def _outcome(results: list[dbt_kickoff.NodeResult]) -> list[tuple[str, str]]:
    return sorted((r.unique_id, r.status) for r in results)


def test_subprocess_engine_matches_worker(shop_duckdb: Path, shop_project: Path, tmp_path: Path) -> None:
    dbt = Path(sys.executable).with_name("dbt")
    environment = DbtEnvironment(python=None, dbt_executable=dbt, engine="subprocess", description="dbt script")
    url = f"duckdb:///{shop_duckdb}"
    with dbt_kickoff.package(url, shop_project, dataset_name="a", venv=environment) as runner:
        by_subprocess = runner.run_all(additional_vars=RAW)
        assert runner.dbt_version and runner.dbt_version.startswith("1.")
    with dbt_kickoff.package(url, shop_project, dataset_name="a") as runner:
        by_worker = runner.run_all(additional_vars=RAW)
    assert _outcome(by_subprocess) == _outcome(by_worker)
    assert len(by_worker) == 9


def test_timeout_stops_the_worker(shop_duckdb: Path, shop_project: Path) -> None:
    slow = shop_project / "models" / "slow.sql"
    slow.write_text(slow_duckdb_model())
    with dbt_kickoff.package(f"duckdb:///{shop_duckdb}", shop_project, dataset_name="a",
                             command_timeout=30) as runner:
        with pytest.raises(DbtCancelled, match="timed out"):
            runner.run(["--select", "slow"])
        assert runner.session.engine is not None and not runner.session.engine.alive
        # the runner recovers: a fresh worker serves the next command
        slow.unlink()
        assert [r.status for r in runner.seed()] == ["success"]


def test_dbt_missing_in_environment_is_a_prerequisite_error(
    shop_duckdb: Path, shop_project: Path, tmp_path: Path
) -> None:
    uv = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    subprocess.run([uv, "venv", "-q", str(tmp_path / "bare")], check=True, env={**os.environ, "VIRTUAL_ENV": ""})
    bare = DbtEnvironment(python=tmp_path / "bare" / "bin" / "python", description="bare venv")
    with dbt_kickoff.package(f"duckdb:///{shop_duckdb}", shop_project, venv=bare) as runner:
        with pytest.raises(PrerequisitesException, match="dbt cannot be imported in bare venv") as info:
            runner.seed()
    assert "get_venv" in str(info.value)


def test_deps_offline_says_so(shop_duckdb: Path, shop_project: Path) -> None:
    (shop_project / "packages.yml").write_text(
        "packages:\n  - package: dbt-labs/dbt_utils\n    version: [\">=1.0.0\", \"<2.0.0\"]\n"
    )
    with dbt_kickoff.package(f"duckdb:///{shop_duckdb}", shop_project, dataset_name="a") as runner:
        with pytest.raises(dbt_kickoff.DBTProcessingError) as info:
            runner.run_all(additional_vars=RAW)
    assert info.value.command == "deps"
    assert "could not download" in str(info.value)
