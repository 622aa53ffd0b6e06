"""``dbt-kickoff run`` as a user runs it: a real process, JSON output and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def kickoff(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dbt_kickoff.cli.main", *args], capture_output=True, text=True,
                          timeout=600)


def test_run_json_success_and_failure_exit_codes(shop_duckdb: Path, shop_project: Path) -> None:
    url = f"duckdb:///{shop_duckdb}"
    ok = kickoff("run", str(shop_project), "--destination", url, "--dataset-name", "cli",
                 "--vars", '{"source_dataset_name": "raw_data"}', "--json")
    assert ok.returncode == 0, ok.stderr
    document = json.loads(ok.stdout)
    assert document["success"] is True
    assert [s["command"] for s in document["steps"]] == ["seed", "run", "test"]
    assert {r["model_name"] for r in document["steps"][1]["results"]} == {
        "stg_orders", "revenue_by_country", "orders_incremental"}

    failed = kickoff("run", str(shop_project), "--destination", url, "--dataset-name", "cli", "--command", "build",
                     "--vars", '{"source_dataset_name": "raw_data", "fail_test": true}', "--json")
    assert failed.returncode == 1
    assert json.loads(failed.stdout)["success"] is False
    assert "no_negative_revenue" in failed.stderr


def test_human_output_lists_nodes(shop_duckdb: Path, shop_project: Path) -> None:
    done = kickoff("run", str(shop_project), "--destination", f"duckdb:///{shop_duckdb}", "--command", "seed")
    assert done.returncode == 0, done.stderr
    assert "countries" in done.stdout and "success" in done.stdout


def test_bad_usage_exits_2(tmp_path: Path, shop_project: Path) -> None:
    missing = kickoff("run", str(tmp_path / "nope"), "--destination", "duckdb:///x.duckdb")
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    bad_url = kickoff("run", str(tmp_path), "--destination", "oracle://u:p@h/db")
    assert bad_url.returncode == 2 and "p@h" not in bad_url.stderr
    bad_vars = kickoff("run", str(shop_project), "--destination", "duckdb:///x.duckdb", "--vars", "[1]")
    assert bad_vars.returncode == 2 and "--vars must be a JSON object" in bad_vars.stderr
