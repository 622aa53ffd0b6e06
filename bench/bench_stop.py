"""How fast each kind of stop ends dbt and its warehouse query, on a real PostgreSQL server.

A task process (tests/stopping/stop_host.py) runs ``build()`` on a package whose second model sleeps 60 s in
the warehouse. Once that query shows in ``pg_stat_activity``, the task is stopped one way; from that moment
the benchmark measures (a) the task process ending (its call returning for the in-process stops), (b) the
query gone from ``pg_stat_activity``, (c) no dbt worker process left. Baseline in the same process list: a
plain ``dbt build`` process stopped with SIGINT (Ctrl-C). Targets: (a) <= 3 s, (b) <= 5 s, (c) <= 10 s.
A ``timeout=`` stop takes the same path as ``cancel()`` (the engine cancels itself).

    .venv/bin/python bench/bench_stop.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import psycopg2

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.postgres_server import PostgresServer, start_postgres

from common import DBT, PYTHON, REPO_DIR

HOST = REPO_DIR / "tests" / "stopping" / "stop_host.py"
PROJECT = {
    "dbt_project.yml": "name: stop_bench\nversion: '1.0'\nconfig-version: 2\nprofile: stop_bench\n"
                       "models:\n  stop_bench:\n    +materialized: table\n",
    "models/fast.sql": "select 1 as id",
    "models/slow.sql": "select 1 as id from {{ ref('fast') }} cross join (select pg_sleep(60)) as s",
}
KINDS = ("plain dbt SIGINT", "group SIGTERM", "host SIGKILL", "host SIGINT", "cancel()", "exception injected")


def _queries(server: PostgresServer) -> int:
    with psycopg2.connect(host=server.host, port=server.port, user=server.user, password=server.password,
                          dbname=server.dbname) as con, con.cursor() as cur:
        cur.execute("select count(*) from pg_stat_activity where query like '%pg_sleep(60)%' "
                    "and pid <> pg_backend_pid()")
        return int(cur.fetchone()[0])  # type: ignore[index]


def _wait(condition: Callable[[], bool], limit: float = 120.0) -> None:
    deadline = time.perf_counter() + limit
    while not condition() and time.perf_counter() < deadline:
        time.sleep(0.02)


def _profiles(folder: Path, server: PostgresServer) -> None:
    (folder / "profiles.yml").write_text(
        f"stop_bench:\n  target: pg\n  outputs:\n    pg:\n      type: postgres\n      host: {server.host}\n"
        f"      port: {server.port}\n      user: {server.user}\n      password: \"{server.password}\"\n"
        f"      dbname: {server.dbname}\n      schema: stop_bench\n      threads: 1\n"
    )


def measure(kind: str, project: Path, server: PostgresServer) -> tuple[float, float, float]:
    how = {"cancel()": "cancel", "exception injected": "inject"}.get(kind, "wait")
    if kind == "plain dbt SIGINT":
        argv = [str(DBT), "build", "--project-dir", str(project), "--profiles-dir", str(project)]
    else:
        argv = [str(PYTHON), str(HOST), str(project), server.url(), how]
    env = {**os.environ, "PYTHONPATH": str(REPO_DIR / "src")}
    process = subprocess.Popen(argv, cwd=REPO_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    _wait(lambda: _queries(server) > 0, 120)
    tree = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
    if how == "wait":
        {"plain dbt SIGINT": lambda: process.send_signal(signal.SIGINT),
         "group SIGTERM": lambda: os.killpg(process.pid, signal.SIGTERM),
         "host SIGKILL": process.kill,
         "host SIGINT": lambda: process.send_signal(signal.SIGINT)}[kind]()
        stopped = time.perf_counter()
    else:
        stopped = time.perf_counter() + 4.0  # stop_host.py stops itself 4 s after the slow model starts
    checks: dict[str, Callable[[], bool]] = {
        "returned": lambda: process.poll() is not None,
        "no query": lambda: _queries(server) == 0,
        "no process": lambda: not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in tree),
    }
    seen: dict[str, float] = {}
    while len(seen) < len(checks) and time.perf_counter() - stopped < 90:
        for name, check in checks.items():
            if name not in seen and check():
                seen[name] = time.perf_counter() - stopped
        time.sleep(0.02)
    return seen.get("returned", float("inf")), seen.get("no query", float("inf")), seen.get("no process", float("inf"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:  # started in the background by a non-interactive shell:
        signal.signal(signal.SIGINT, signal.default_int_handler)  # children must not inherit SIGINT ignored
    server, stop = start_postgres()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            project = Path(tmp)
            for name, text in PROJECT.items():
                (project / name).parent.mkdir(parents=True, exist_ok=True)
                (project / name).write_text(text)
            _profiles(project, server)
            print(f"{'stop':<22}{'(a) returned':>14}{'(b) no query':>14}{'(c) no process':>16}")
            for kind in KINDS:
                samples = [measure(kind, project, server) for _ in range(args.repeat)]
                a, b, c = (statistics.median(s[i] for s in samples) for i in range(3))
                print(f"{kind:<22}{a:>13.2f}s{b:>13.2f}s{c:>15.2f}s")
    finally:
        stop()  # type: ignore[operator]
    return 0


if __name__ == "__main__":
    sys.exit(main())
