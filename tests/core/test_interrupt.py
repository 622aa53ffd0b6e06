"""Ctrl-C on the command line stops dbt cleanly: the dbt process goes away and the exit status says so."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from tests.slow_sql import slow_duckdb_model


def test_sigint_stops_the_dbt_worker(shop_duckdb: Path, shop_project: Path) -> None:
    (shop_project / "models" / "slow.sql").write_text(slow_duckdb_model())
    process = subprocess.Popen(
        [sys.executable, "-m", "dbt_kickoff.cli.main", "run", str(shop_project), "--destination",
         f"duckdb:///{shop_duckdb}", "--command", "run", "--select", "slow"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    cli = psutil.Process(process.pid)
    deadline = time.monotonic() + 300
    workers: list[psutil.Process] = []
    while time.monotonic() < deadline and not workers:  # wait until the worker runs the model
        workers = [c for c in cli.children(recursive=True) if "worker_script.py" in " ".join(c.cmdline())]
        time.sleep(0.2)
    assert workers, "the dbt worker never started"
    time.sleep(3)  # let dbt get into the long query
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    _, alive = psutil.wait_procs(workers, timeout=30)
    assert not alive, f"dbt worker still running: {[p.pid for p in alive]}"
