"""``dbt-kickoff run --changed-only`` as a user runs it: each node says why it was built."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.changed_core.conftest import edit


def kickoff(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dbt_kickoff.cli.main", *args], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "COLUMNS": "250"})


def test_cli_changed_only_shows_reasons(shop_duckdb: Path, shop_project: Path, tmp_path: Path) -> None:
    common = ["run", str(shop_project), "--destination", f"duckdb:///{shop_duckdb}", "--dataset-name", "cli",
              "--source-dataset-name", "raw_data", "--records", str(tmp_path / "records"), "--command", "build",
              "--changed-only"]
    first = kickoff(*common, "--json")
    assert first.returncode == 0, first.stderr
    document = json.loads(first.stdout)
    assert document["changed"]["full_build_reason"].startswith("first run")
    reasons = {r["model_name"]: r["reason"] for s in document["steps"] for r in s["results"]}
    assert reasons["revenue_by_country"].startswith("no usable previous run: first run")
    assert "changed-only: everything built (first run" in first.stderr

    edit(shop_project / "models" / "revenue_by_country.sql", "count(*) as orders", "count(*) as n_orders")
    second = kickoff(*common, "--always-build", "countries")
    assert second.returncode == 0, second.stderr
    rows = {line.split("│")[1].strip(): line for line in second.stdout.splitlines() if line.count("│") > 3}
    assert "code changed" in rows["revenue_by_country"]
    assert "always_build" in rows["countries"]
    # raw.orders has no freshness and is not loaded by dlt: what reads it is always built (correctness first)
    assert "source raw.orders cannot be checked" in rows["stg_orders"]
    assert "changed-only:" in second.stderr and "unchanged" in second.stderr

    wrong = kickoff(*common, "--select", "stg_orders")
    assert wrong.returncode == 2 and "--changed-only" in wrong.stderr
