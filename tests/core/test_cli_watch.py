"""``dbt-kickoff watch``: cycles as JSON lines, a user load function, a clean stop on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

LOADER = '''
import duckdb

CALLS = {"n": 0}


def load():
    CALLS["n"] += 1
    if CALLS["n"] == 2:
        return []
    with duckdb.connect(%r) as con:
        con.execute("insert into raw_data.orders values (500 + ?, 'US', 2.0, '2026-11-24')", [CALLS["n"]])
    return ["raw_data.orders"]
'''


def _watch(shop_duckdb: Path, shop_project: Path, tmp_path: Path, *extra: str) -> subprocess.Popen[str]:
    (tmp_path / "my_loader.py").write_text(LOADER % str(shop_duckdb))
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    return subprocess.Popen(
        [sys.executable, "-m", "dbt_kickoff.cli.main", "watch", str(shop_project), "--destination",
         f"duckdb:///{shop_duckdb}", "--dataset-name", "live", "--source-dataset-name", "raw_data",
         "--load", "my_loader:load", "--json", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )


def test_watch_runs_cycles_as_json_lines(shop_duckdb: Path, shop_project: Path, tmp_path: Path) -> None:
    process = _watch(shop_duckdb, shop_project, tmp_path, "--every", "0.1", "--max-cycles", "3")
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err
    cycles = [json.loads(line) for line in out.splitlines()]
    assert [c["cycle"] for c in cycles] == [1, 2, 3]
    assert cycles[0]["ok"] and cycles[0]["loaded"] == ["raw_data.orders"]
    assert {r["model_name"] for r in cycles[0]["results"] if r["resource_type"] == "model"} == {
        "stg_orders", "revenue_by_country", "orders_incremental"}
    assert cycles[1]["skipped"] == "nothing loaded" and cycles[1]["results"] == []
    assert cycles[2]["ok"] and cycles[2]["results"]


def test_watch_stops_cleanly_on_sigterm(shop_duckdb: Path, shop_project: Path, tmp_path: Path) -> None:
    process = _watch(shop_duckdb, shop_project, tmp_path, "--every", "1")
    assert process.stdout is not None
    first = json.loads(process.stdout.readline())
    assert first["cycle"] == 1
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 143, err  # the shell's convention for SIGTERM; a running dbt is cancelled
    assert "stopped by SIGTERM" in err


def test_watch_rejects_a_bad_load_spec(shop_duckdb: Path, shop_project: Path, tmp_path: Path) -> None:
    process = _watch(shop_duckdb, shop_project, tmp_path, "--every", "1", "--load", "nonsense")
    _, err = process.communicate(timeout=120)
    assert process.returncode == 2 and "module:function" in err
