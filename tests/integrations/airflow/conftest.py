"""Real Apache Airflow 3 for the integration tests: its own venv (built once, cached), a migrated SQLite
metadata database made once and copied into each test's temporary AIRFLOW_HOME, and ``airflow dags test``."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock

from tests.integrations.venvs import REPO, orchestrator_venv

REQUIREMENTS = ("apache-airflow==3.*", "dbt-core~=1.11.0", "dbt-duckdb~=1.11.0")
EXTRAS = ("airflow", "demo")
DAGS = Path(__file__).with_name("dags")
EXAMPLES = REPO / "examples" / "airflow"
DAG_TEST_TIMEOUT = 900


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DBT_")) and k != "VIRTUAL_ENV"}


@dataclass
class AirflowRun:
    """One ``airflow`` command's outcome, and the metadata database it left."""

    returncode: int
    output: str
    database: Path

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.database) as connection:
            return connection.execute(sql, params).fetchall()

    def states(self, dag_id: str) -> dict[str, tuple[str, int]]:
        """task id -> (state, try number) of the DAG's (only) run."""
        rows = self.query("select task_id, state, try_number from task_instance where dag_id = ?", dag_id)
        return {task: (state, tries) for task, state, tries in rows}

    def xcom(self, dag_id: str, task_id: str, key: str) -> Any:
        rows = self.query("select value from xcom where dag_id = ? and task_id = ? and key = ?", dag_id, task_id, key)
        assert rows, f"no XCom {key!r} from {dag_id}.{task_id}:\n{self.output[-6000:]}"
        value = rows[0][0]
        return json.loads(value) if isinstance(value, (str, bytes)) else value


@dataclass
class Airflow:
    """The Airflow venv and a migrated metadata database to start each AIRFLOW_HOME from."""

    venv: Path
    template_db: Path

    def home(self, root: Path) -> Path:
        home = root / "airflow-home"
        home.mkdir()
        shutil.copy(self.template_db, home / "airflow.db")
        return home

    def env(self, home: Path, dags_folder: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = _clean_env()
        env.update({
            "PATH": f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "XDG_STATE_HOME": str(home / "state"),  # dbt Cloud idempotency ledger
            "XDG_CACHE_HOME": str(home / "cache"),
        })
        env.update(extra or {})
        return env

    def popen(self, args: list[str], env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
        with log.open("wb") as out:
            return subprocess.Popen([str(self.venv / "bin" / "airflow"), *args], env=dict(env), stdout=out,
                                    stderr=subprocess.STDOUT, cwd=env["AIRFLOW_HOME"])

    def run(self, args: list[str], home: Path, dags_folder: Path, extra: Mapping[str, str] | None = None,
            timeout: float = DAG_TEST_TIMEOUT) -> AirflowRun:
        log = home / f"airflow-{args[0]}-{len(list(home.glob('airflow-*.log')))}.log"
        process = self.popen(args, self.env(home, dags_folder, extra), log)
        try:
            returncode = process.wait(timeout=timeout)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        return AirflowRun(returncode, log.read_text(errors="replace"), home / "airflow.db")

    def dags_test(self, dag_id: str, home: Path, dags_folder: Path,
                  extra: Mapping[str, str] | None = None) -> AirflowRun:
        return self.run(["dags", "test", dag_id], home, dags_folder, extra)


@pytest.fixture(scope="session")
def airflow() -> Airflow:
    """Airflow 3 in its own venv (with dbt-core 1.11, dbt-duckdb, dlt and this repo), migrated once."""
    venv = orchestrator_venv("airflow", REQUIREMENTS, EXTRAS)
    template = venv / "airflow-template"
    with FileLock(str(template) + ".lock"):
        if not (template / "migrated").is_file():
            shutil.rmtree(template, ignore_errors=True)
            template.mkdir()
            env = {**_clean_env(), "AIRFLOW_HOME": str(template), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
            done = subprocess.run([str(venv / "bin" / "airflow"), "db", "migrate"], env=env, capture_output=True,
                                  text=True, check=False)
            assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
            (template / "migrated").write_text("ok")
    return Airflow(venv=venv, template_db=template / "airflow.db")
