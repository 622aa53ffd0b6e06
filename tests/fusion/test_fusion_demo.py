"""``dbt-kickoff demo --dbt-version 2`` as a user runs it: dlt loads DuckDB, the dbt v2 engine transforms, offline.
The demo stages no driver: the test gives it one (``--drivers``), or none to see the error saying how."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from tests.fusion.driver import FUSION_VERSION

from dbt_kickoff.demo.data import generate_sample_data
from dbt_kickoff.environments.venv import Venv

pytestmark = pytest.mark.slow


def _demo(*args: str, cwd: Path, cache_home: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "ADBC_DRIVER_PATH"}
    env["XDG_CACHE_HOME"] = str(cache_home)  # no driver in dbt v2's own cache either
    return subprocess.run([sys.executable, "-m", "dbt_kickoff.cli.main", "demo", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=900)


def test_demo_runs_on_v2_and_loads_the_next_day(
    fusion_venv: Venv, fusion_duckdb_drivers: Path, isolated_driver_cache: Path, tmp_path: Path
) -> None:
    workdir = tmp_path / "work"
    args = ("--workdir", str(workdir), "--json", "--dbt-version", FUSION_VERSION,
            "--drivers", str(fusion_duckdb_drivers), "--venv-dir", str(fusion_venv.path.parent))
    first = _demo(*args, cwd=tmp_path, cache_home=isolated_driver_cache)
    assert first.returncode == 0, first.stderr[-3000:]
    report = json.loads(first.stdout)
    assert report["success"] is True and report["dbt_version"] == "2.0.0-preview.196"
    statuses = {r["unique_id"]: r["status"] for r in report["results"]}
    assert len([uid for uid in statuses if uid.startswith("model.")]) == 12
    assert {s for uid, s in statuses.items() if not uid.startswith("test.")} == {"success"}
    assert sorted({s for uid, s in statuses.items() if uid.startswith("test.")}) == ["pass", "warn"]
    assert [s["command"].split()[0] for s in report["steps"]] == ["seed", "run", "test"]
    assert len(report["metrics"]) == 4 and all(report["metrics"].values())

    second = _demo(*args, cwd=tmp_path, cache_home=isolated_driver_cache)  # the incremental model grows
    assert second.returncode == 0, second.stderr[-3000:]
    assert json.loads(second.stdout)["load"]["number"] == 2
    with duckdb.connect(str(workdir / "shop.duckdb"), read_only=True) as con:
        events = con.execute("select count(*) from shop_metrics.fct_web_events").fetchone()
    assert events == (len(generate_sample_data().events) + len(generate_sample_data(batch=1).events),)


def test_demo_on_v2_without_a_driver_says_how_to_provide_one(
    fusion_venv: Venv, isolated_driver_cache: Path, tmp_path: Path
) -> None:
    done = _demo("--workdir", str(tmp_path / "work"), "--dbt-version", FUSION_VERSION,
                 "--venv-dir", str(fusion_venv.path.parent), cwd=tmp_path, cache_home=isolated_driver_cache)
    assert done.returncode == 2, done.stderr[-3000:]
    error = next(line for line in done.stderr.splitlines() if line.startswith("error:"))
    assert "no DuckDB driver" in error and "--drivers" in error and "ADBC_DRIVER_PATH" in error
    assert "npm pack @duckdb/node-bindings-" in error
