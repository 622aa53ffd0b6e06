"""Dagster definitions of a 1,000-model package load without starting dbt when a manifest for the package's
files exists: here one published to the run records store by another machine (a copy of the package elsewhere),
read by a code location whose copy of the package dbt never touched."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from bench.generate_package import generate_package

import dbt_kickoff
from tests.integrations.conftest import run_script
from tests.integrations.dagster.test_dagster import dagster_python  # noqa: F401 - the venv fixture

SCRIPT = Path(__file__).with_name("definitions_script.py")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]


def test_definitions_of_a_1000_model_package_load_without_dbt(dagster_python: Path, tmp_path: Path) -> None:  # noqa: F811
    worker_copy = generate_package(tmp_path / "worker" / "package", models=1000)
    destination = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    records = tmp_path / "records"
    with dbt_kickoff.package(destination, worker_copy, records=str(records), warm_start=False) as worker:
        parsed = worker.manifest()  # no manifest anywhere yet: dbt parses, and the worker publishes it
    assert worker.last_report.steps[0].command == "parse"
    code_location = tmp_path / "code-location" / "package"
    shutil.copytree(worker_copy, code_location, ignore=shutil.ignore_patterns("target", "logs"))

    loaded = run_script(dagster_python, SCRIPT, json.dumps(
        {"package": str(code_location), "destination": destination, "records": str(records)}))
    assert not (code_location / "logs").exists() and not (code_location / "target").exists()  # dbt never started
    models_and_seeds = [n for n in parsed["nodes"].values() if n["resource_type"] in ("model", "seed")]
    assert loaded["assets"] == loaded["graph_assets"] == len(models_and_seeds) == 1004
    assert loaded["checks"] > 1000
    print(f"definitions load: {loaded}")  # timings are the benchmark's business (bench/bench_warm.py)
