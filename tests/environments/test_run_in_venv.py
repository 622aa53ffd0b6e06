"""dbt running inside a get_venv() venv: same results as the current environment, on DuckDB and PostgreSQL,
also from an interpreter that has dbt-kickoff but no dbt at all (the library-conflicts case)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import psycopg2
import pytest

import dbt_kickoff
from dbt_kickoff.environments.cache import remove_venv
from dbt_kickoff.environments.venv import Venv, get_venv
from dbt_kickoff.errors import PrerequisitesException
from tests.core.conftest import ORDERS, SHOP_PROJECT, load_orders_duckdb
from tests.postgres_server import PostgresServer

pytestmark = pytest.mark.slow
VARS = {"source_dataset_name": "raw_data"}
REPO = Path(dbt_kickoff.__file__).resolve().parents[2]

Outcome = list[tuple[str, str, int | None, int | None]]


def _outcome(results: list[dbt_kickoff.NodeResult]) -> Outcome:
    return sorted((r.unique_id, r.status, r.rows_affected, r.failures) for r in results)


def _run(destination: str, project: Path, venv: Venv | None, dataset: str) -> Outcome:
    with dbt_kickoff.package(destination, project, venv=venv, dataset_name=dataset) as runner:
        return _outcome(runner.run_all(additional_vars=VARS))


def _project(folder: Path) -> Path:
    shutil.copytree(SHOP_PROJECT, folder)
    return folder


@pytest.fixture(scope="session")
def pg_orders(postgres: PostgresServer) -> PostgresServer:
    with psycopg2.connect(postgres.url()) as con, con.cursor() as cur:
        cur.execute("create schema if not exists raw_data")
        cur.execute("drop table if exists raw_data.orders")
        cur.execute("create table raw_data.orders (id int, country text, amount float8, created_at date)")
        cur.executemany("insert into raw_data.orders values (%s, %s, %s, %s)", ORDERS)
    return postgres


def _pg_rows(server: PostgresServer, schema: str) -> list[tuple[object, ...]]:
    with psycopg2.connect(server.url()) as con, con.cursor() as cur:
        cur.execute(f"select country, orders, revenue from {schema}.revenue_by_country order by 1")
        return cur.fetchall()


def _duckdb_rows(path: Path) -> list[tuple[object, ...]]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute("select country, orders, revenue from analytics.revenue_by_country order by 1").fetchall()


def test_duckdb_in_a_venv_matches_the_current_environment(tmp_path: Path, duckdb_venv: Venv) -> None:
    here, there = tmp_path / "here.duckdb", tmp_path / "there.duckdb"
    load_orders_duckdb(here)
    load_orders_duckdb(there)
    expected = _run(f"duckdb:///{here}", _project(tmp_path / "p1"), None, "analytics")
    got = _run(f"duckdb:///{there}", _project(tmp_path / "p2"), duckdb_venv, "analytics")
    assert got == expected and len(got) == 9
    assert _duckdb_rows(there) == _duckdb_rows(here)


def test_postgres_in_a_venv_matches_the_current_environment(
    tmp_path: Path, venv_root: Path, pg_orders: PostgresServer
) -> None:
    venv = get_venv(pg_orders.url(), venv_dir=venv_root)
    assert "dbt-postgres" in dict(venv.installed)
    expected = _run(pg_orders.url(), _project(tmp_path / "p1"), None, "analytics_host")
    got = _run(pg_orders.url(), _project(tmp_path / "p2"), venv, "analytics_venv")
    assert got == expected
    assert _pg_rows(pg_orders, "analytics_venv") == _pg_rows(pg_orders, "analytics_host")


def test_venv_removed_under_a_runner_gives_a_clear_error_then_is_rebuilt(tmp_path: Path, duckdb_venv: Venv) -> None:
    cache = tmp_path / "venvs"
    shutil.copytree(duckdb_venv.path, cache / duckdb_venv.key, symlinks=True, copy_function=os.link)
    venv = get_venv(adapters=["duckdb"], venv_dir=cache)  # reuses the (hard-linked) copy
    warehouse = tmp_path / "w.duckdb"
    load_orders_duckdb(warehouse)
    runner = dbt_kickoff.package(f"duckdb:///{warehouse}", _project(tmp_path / "p"), venv=venv, dataset_name="a")
    remove_venv(venv.path)
    with runner, pytest.raises(PrerequisitesException, match="does not exist"):
        runner.run_all(additional_vars=VARS)
    again = get_venv(adapters=["duckdb"], venv_dir=cache)
    assert again.path == venv.path and again.exists()


@pytest.fixture(scope="session")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """An interpreter with dbt-kickoff and its core dependencies only: no dbt, no adapter."""
    from uv import find_uv_bin

    folder = tmp_path_factory.mktemp("bare") / "venv"
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    subprocess.run([find_uv_bin(), "venv", "--quiet", "--python", sys.executable, str(folder)], check=True, env=env)
    python = folder / "bin" / "python"
    subprocess.run(
        [find_uv_bin(), "pip", "install", "--quiet", "--python", str(python), str(REPO)], check=True, env=env
    )
    yield python


BARE_SCRIPT = """
import json, os, sys
try:
    import dbt
except ModuleNotFoundError:
    pass
else:
    raise SystemExit("dbt must not be importable here")
import dbt_kickoff
destination = os.environ["KICKOFF_TEST_DESTINATION"]  # not in argv: it may hold a password
project, venv_dir, dataset = sys.argv[1:4]
venv = dbt_kickoff.get_venv(destination, venv_dir=venv_dir)
with dbt_kickoff.package(destination, project, venv=venv, dataset_name=dataset) as runner:
    results = runner.run_all(additional_vars={"source_dataset_name": "raw_data"})
print(json.dumps({
    "kickoff": dbt_kickoff.__file__,
    "results": sorted([r.unique_id, r.status, r.rows_affected, r.failures] for r in results),
}))
"""


def _run_bare(python: Path, destination: str, project: Path, venv_dir: Path, dataset: str) -> Outcome:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["KICKOFF_TEST_DESTINATION"] = destination
    done = subprocess.run(
        [str(python), "-c", BARE_SCRIPT, str(project), str(venv_dir), dataset],
        capture_output=True,
        text=True,
        env=env,
        cwd=project.parent,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(report["kickoff"]).is_relative_to(python.parents[1])  # the installed copy, not the source tree
    return [tuple(row) for row in report["results"]]  # type: ignore[misc]


def test_interpreter_without_dbt_runs_duckdb_and_postgres_through_a_venv(
    tmp_path: Path, bare_python: Path, venv_root: Path, pg_orders: PostgresServer
) -> None:
    warehouse, reference = tmp_path / "bare.duckdb", tmp_path / "reference.duckdb"
    load_orders_duckdb(warehouse)
    load_orders_duckdb(reference)
    got = _run_bare(bare_python, f"duckdb:///{warehouse}", _project(tmp_path / "p1"), venv_root, "analytics")
    assert got == _run(f"duckdb:///{reference}", _project(tmp_path / "p2"), None, "analytics")
    assert _duckdb_rows(warehouse) == _duckdb_rows(reference)

    got_pg = _run_bare(bare_python, pg_orders.url(), _project(tmp_path / "p3"), venv_root, "analytics_bare")
    assert got_pg == _run(pg_orders.url(), _project(tmp_path / "p4"), None, "analytics_bare_ref")
    assert _pg_rows(pg_orders, "analytics_bare") == _pg_rows(pg_orders, "analytics_bare_ref")
