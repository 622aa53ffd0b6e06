"""Every way a run is stopped ends dbt and its warehouse query: real PostgreSQL, a model that sleeps 60 s in
the warehouse, the runner in its own host process (its own process group, as an orchestrator task)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import psycopg2
import pytest

from tests.postgres_server import PostgresServer

HOST = Path(__file__).with_name("stop_host.py")
ROOT = Path(__file__).resolve().parents[2]
SLOW_SQL = "select 1 as id from {{ ref('fast') }} cross join (select pg_sleep(60)) as s"

pytestmark = pytest.mark.slow


def _sleeping_queries(postgres: PostgresServer) -> list[str]:
    with psycopg2.connect(host=postgres.host, port=postgres.port, user=postgres.user, password=postgres.password,
                          dbname=postgres.dbname) as con, con.cursor() as cur:
        cur.execute("select query from pg_stat_activity where query like '%pg_sleep(60)%' "
                    "and pid <> pg_backend_pid()")
        return [row[0] for row in cur.fetchall()]


def _until(condition: Callable[[], bool], within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def _workers(root: psutil.Process) -> list[psutil.Process]:
    return [p for p in root.children(recursive=True) if "worker_script.py" in " ".join(p.cmdline())]


def _start_host(stop_project: Path, postgres: PostgresServer, how: str, *extra: str) -> subprocess.Popen[str]:
    (stop_project / "models" / "slow.sql").write_text(SLOW_SQL)
    process = subprocess.Popen(
        [sys.executable, str(HOST), str(stop_project), postgres.url(), how, *extra], cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.strip() == "started", f"the slow model never started: {line!r}"
    assert _until(lambda: bool(_sleeping_queries(postgres)), 10), "the slow query is not in pg_stat_activity"
    return process


def _assert_all_stopped(postgres: PostgresServer, workers: list[psutil.Process]) -> None:
    assert _until(lambda: not _sleeping_queries(postgres), 10), "the warehouse query still runs 10 s after the stop"
    _, alive = psutil.wait_procs(workers, timeout=15)
    assert not alive, f"dbt worker(s) {[p.pid for p in alive]} still running 15 s after the stop"


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["group-SIGTERM", "host-SIGKILL"])
def test_host_killed_from_outside(stop_project: Path, postgres: PostgresServer, stop: signal.Signals) -> None:
    host = _start_host(stop_project, postgres, "wait")
    workers = _workers(psutil.Process(host.pid))
    assert workers
    if stop == signal.SIGTERM:
        os.killpg(host.pid, stop)  # the task's process group, as Airflow stops a task
    else:
        host.kill()
    host.wait(timeout=30)
    _assert_all_stopped(postgres, workers)


@pytest.mark.parametrize(("how", "expected"), [
    ("cancel", "DbtCancelled"), ("inject", "SystemExit"), ("timeout", "DbtCancelled"), ("sigint", "KeyboardInterrupt"),
])
def test_stop_inside_the_host(stop_project: Path, postgres: PostgresServer, how: str, expected: str) -> None:
    host = _start_host(stop_project, postgres, "wait" if how == "sigint" else how, "40")
    workers = _workers(psutil.Process(host.pid))
    if how == "sigint":
        host.send_signal(signal.SIGINT)
    out, err = host.communicate(timeout=60)
    outcome = json.loads(out.strip().splitlines()[-1])
    assert outcome["error"] == expected, err
    if expected == "DbtCancelled":
        assert outcome["results"] == [["fast", "success"]]
        assert outcome["running"] == ["slow"]
        assert outcome["reason"] == ("cancelled by the test" if how == "cancel" else "timed out after 40s")
    _assert_all_stopped(postgres, workers)


def test_cli_sigterm_exits_143_with_partial_results(stop_project: Path, postgres: PostgresServer) -> None:
    (stop_project / "models" / "slow.sql").write_text(SLOW_SQL)
    cli = subprocess.Popen(
        [sys.executable, "-m", "dbt_kickoff.cli.main", "run", str(stop_project), "--destination", postgres.url(),
         "--dataset-name", "stop_cli", "--command", "build", "--threads", "1", "--json"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert _until(lambda: bool(_sleeping_queries(postgres)), 120), "the slow query never started"
    workers = _workers(psutil.Process(cli.pid))
    cli.send_signal(signal.SIGTERM)
    out, err = cli.communicate(timeout=60)
    assert cli.returncode == 143, err
    report = json.loads(out)
    assert report["success"] is False and report["cancelled"] == "received SIGTERM"
    assert report["running"] == ["slow"]
    assert [(r["model_name"], r["status"]) for s in report["steps"] for r in s["results"]] == [("fast", "success")]
    _assert_all_stopped(postgres, workers)
