"""A running Airflow 3 for the tests and the benchmark: api-server, scheduler, triggerer and dag-processor
(LocalExecutor, SQLite metadata), each a process of its own in one temporary AIRFLOW_HOME, and helpers to
trigger a DAG run, wait for it, read its task states and watch what every Airflow process costs (CPU seconds,
peak resident memory of all of them together).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

COMPONENTS = ("api-server", "scheduler", "triggerer", "dag-processor")
FINISHED_RUN_STATES = frozenset({"success", "failed"})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Usage:
    """CPU seconds and memory of a set of processes, sampled while they ran."""

    cpu_seconds: float = 0.0
    peak_rss_mb: float = 0.0
    by_component: dict[str, float] = field(default_factory=dict)
    """CPU seconds per component (its process and everything below it)."""


class UsageWatcher:
    """Samples every process below the Airflow components (tasks, dbt workers, triggers...) every ``interval``
    seconds: the sum of their resident memory (its peak is reported) and each one's CPU time (the last value
    seen of a process that exited is kept; what a process of under ``interval`` seconds did is caught by its
    parent's children times when the parent waited for it)."""

    def __init__(self, roots: Mapping[str, int], interval: float = 0.25) -> None:
        self.roots = dict(roots)
        self.interval = interval
        self.cpu: dict[tuple[int, float], tuple[str, float]] = {}
        self.peak_rss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="usage-watcher", daemon=True)

    def __enter__(self) -> UsageWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def usage(self) -> Usage:
        by_component: dict[str, float] = {}
        for component, seconds in self.cpu.values():
            by_component[component] = by_component.get(component, 0.0) + seconds
        return Usage(cpu_seconds=round(sum(by_component.values()), 2), peak_rss_mb=round(self.peak_rss / 2**20, 1),
                     by_component={k: round(v, 2) for k, v in sorted(by_component.items())})

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)
        self.sample()

    def sample(self) -> None:
        rss = 0
        for component, pid in self.roots.items():
            with contextlib.suppress(psutil.Error):
                root = psutil.Process(pid)
                for proc in [root, *root.children(recursive=True)]:
                    with contextlib.suppress(psutil.Error):
                        with proc.oneshot():
                            times = proc.cpu_times()
                            rss += proc.memory_info().rss
                            key = (proc.pid, proc.create_time())
                            self.cpu[key] = (component, times.user + times.system)
        self.peak_rss = max(self.peak_rss, rss)


class LiveAirflow:
    """Airflow's components over one AIRFLOW_HOME (already migrated: see the ``airflow`` fixture)."""

    def __init__(self, venv: Path, home: Path, dags_folder: Path, env: Mapping[str, str] | None = None,
                 parallelism: int = 8) -> None:
        self.venv = venv
        self.home = home
        self.port = free_port()
        base = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DBT_")) and k != "VIRTUAL_ENV"}
        self.env = {
            **base,
            "PATH": f"{venv / 'bin'}{os.pathsep}{base.get('PATH', '')}",
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": str(parallelism),
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{self.port}/execution/",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{self.port}",
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
            "AIRFLOW__CORE__FERNET_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "60",
            "XDG_STATE_HOME": str(home / "state"),
            "XDG_CACHE_HOME": str(home / "cache"),
            **(env or {}),
        }
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    # -- life cycle -----------------------------------------------------------------------------------------------
    def start(self, components: Sequence[str] = COMPONENTS, timeout: float = 300) -> None:
        for name in components:
            log = (self.home / f"{name}.log").open("wb")
            self.processes[name] = subprocess.Popen([str(self.venv / "bin" / "airflow"), name], env=self.env,
                                                    stdout=log, stderr=subprocess.STDOUT, cwd=self.home,
                                                    start_new_session=True)
        if "api-server" in components:
            self.wait_api(timeout)

    def wait_api(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/api/v2/monitor/health", timeout=5).status_code == 200:
                    return
            time.sleep(1)
        raise TimeoutError(f"the API server did not answer within {timeout}s:\n{self.log('api-server')[-4000:]}")

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"airflow {name} exited ({process.returncode}):\n{self.log(name)[-6000:]}")

    def stop(self, grace: float = 30) -> None:
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self, component: str) -> str:
        path = self.home / f"{component}.log"
        return path.read_text(errors="replace") if path.is_file() else ""

    def watch(self, interval: float = 0.25) -> UsageWatcher:
        return UsageWatcher({name: p.pid for name, p in self.processes.items()}, interval)

    # -- DAG runs -------------------------------------------------------------------------------------------------
    def cli(self, *args: str, timeout: float = 300) -> str:
        done = subprocess.run([str(self.venv / "bin" / "airflow"), *args], env=self.env, capture_output=True,
                              text=True, timeout=timeout, cwd=self.home, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"airflow {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def wait_dag(self, dag_id: str, timeout: float = 600) -> None:
        """Until the dag-processor has stored ``dag_id`` (an import error fails at once, with its message)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            if self.query("select 1 from serialized_dag where dag_id = ?", dag_id):
                return
            errors = self.query("select filename, stacktrace from import_error")
            if errors:
                raise RuntimeError(f"DAG import errors: {errors}")
            time.sleep(1)
        raise TimeoutError(f"{dag_id} was not parsed within {timeout}s:\n{self.log('dag-processor')[-4000:]}")

    def trigger(self, dag_id: str) -> str:
        """Unpause ``dag_id`` and start a run of it; its run id."""
        httpx.patch(f"{self.url}/api/v2/dags/{dag_id}", json={"is_paused": False}, timeout=60).raise_for_status()
        response = httpx.post(f"{self.url}/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None}, timeout=60)
        response.raise_for_status()
        return str(response.json()["dag_run_id"])

    def wait_run(self, dag_id: str, run_id: str, timeout: float = 1800) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            state = self.run_state(dag_id, run_id)
            if state in FINISHED_RUN_STATES:
                return state
            time.sleep(1)
        raise TimeoutError(f"{dag_id} {run_id} did not finish within {timeout}s")

    def run_state(self, dag_id: str, run_id: str) -> str | None:
        rows = self.query("select state from dag_run where dag_id = ? and run_id = ?", dag_id, run_id)
        return rows[0][0] if rows else None

    def run_times(self, dag_id: str, run_id: str) -> tuple[str, str]:
        rows = self.query("select start_date, end_date from dag_run where dag_id = ? and run_id = ?", dag_id, run_id)
        return rows[0]

    def states(self, dag_id: str, run_id: str) -> dict[str, tuple[str | None, int]]:
        """task id -> (state, try number)."""
        rows = self.query("select task_id, state, try_number from task_instance where dag_id = ? and run_id = ?",
                          dag_id, run_id)
        return {task: (state, tries) for task, state, tries in rows}

    def task_rows(self, dag_id: str, run_id: str, *columns: str) -> dict[str, tuple[Any, ...]]:
        rows = self.query(f"select task_id, {', '.join(columns)} from task_instance where dag_id = ? and run_id = ?",
                          dag_id, run_id)
        return {row[0]: tuple(row[1:]) for row in rows}

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str) -> Any:
        rows = self.query("select value from xcom where dag_id = ? and run_id = ? and task_id = ? and key = ?",
                          dag_id, run_id, task_id, key)
        if not rows:
            return None
        value = rows[0][0]
        while isinstance(value, (str, bytes)):  # a trigger's TaskSuccessEvent xcoms are stored encoded twice
            try:
                value = json.loads(value)
            except ValueError:
                break
        return value

    def patch_task(self, dag_id: str, run_id: str, task_id: str, state: str) -> None:
        """Mark a task instance (e.g. ``failed``), as a person does in the UI."""
        response = httpx.patch(f"{self.url}/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}",
                               json={"new_state": state}, timeout=60)
        response.raise_for_status()

    def clear(self, dag_id: str, run_id: str, task_ids: Sequence[str], *, downstream: bool = True) -> None:
        """Clear task instances (and their downstream), as a person does in the UI to run them again."""
        response = httpx.post(f"{self.url}/api/v2/dags/{dag_id}/clearTaskInstances",
                              json={"dry_run": False, "task_ids": list(task_ids), "dag_run_id": run_id,
                                    "include_downstream": downstream, "only_failed": False,
                                    "reset_dag_runs": True}, timeout=60)
        response.raise_for_status()

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with contextlib.closing(sqlite3.connect(self.home / "airflow.db", timeout=30)) as connection:
            return connection.execute(sql, params).fetchall()


@contextlib.contextmanager
def running(airflow: LiveAirflow, components: Sequence[str] = COMPONENTS) -> Iterator[LiveAirflow]:
    airflow.start(components)
    try:
        yield airflow
    finally:
        airflow.stop()
