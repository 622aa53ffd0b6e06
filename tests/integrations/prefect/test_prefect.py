"""Prefect 3.9, in its own venv and Prefect's test harness: a flow run end to end on DuckDB, and a timeout or a
cancelled (SIGTERM'd) flow run stops dbt. Each scenario runs ``flow_script.py`` with the Prefect venv's Python."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.integrations.conftest import run_script, serving
from tests.integrations.venvs import orchestrator_python
from tests.slow_sql import slow_duckdb_model

SCRIPT = Path(__file__).with_name("flow_script.py")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]  # minutes each on a busy 2-core machine
SLOW_MODEL = slow_duckdb_model()


@pytest.fixture(scope="module")
def prefect_python() -> Path:
    return orchestrator_python("prefect", ["prefect==3.9.*"], extras=("emulator",))  # flow_script's dbt Cloud


@pytest.fixture(scope="module")
def prefect_api(prefect_python: Path) -> Iterator[dict[str, str]]:
    """One Prefect test harness (a temporary server and database) shared by the module's scenarios: starting
    one migrates a new database, about a minute on a busy machine. Stopped, with its children, at the end."""
    with serving(prefect_python, SCRIPT, "harness", "{}") as started:
        yield {"PREFECT_API_URL": started["api_url"]}


def table(run: dict[str, Any], key: str = "dbt-kickoff-results") -> list[dict[str, Any]]:
    [artifact] = [a for a in run["artifacts"] if a["key"] == key]
    assert artifact["type"] == "table"
    data = artifact["data"]
    return list(json.loads(data) if isinstance(data, str) else data)


def test_a_flow_runs_the_package_and_publishes_every_node_result(
    prefect_python: Path, prefect_api: dict[str, str], shop: dict[str, str]
) -> None:
    out = run_script(prefect_python, SCRIPT, "run", json.dumps(shop), env=prefect_api)

    ok = out["ok"]
    assert ok["flow"] == "Completed" and set(ok["tasks"].values()) == {"Completed"}, ok
    statuses = {r["name"]: r["status"] for r in ok["results"]}
    assert statuses["revenue_by_country"] == "success" and statuses["countries"] == "success"
    assert statuses["no_negative_revenue"] == "pass"
    rows = table(ok)
    assert {r["node"]: r["status"] for r in rows} == statuses
    with duckdb.connect(shop["database"], read_only=True) as con:
        assert con.execute("select count(*) from analytics.revenue_by_country").fetchone() == (3,)

    failing = out["failing"]
    assert failing["flow"] == "Failed" and "no_negative_revenue" in failing["message"], failing
    [failed] = [r for r in table(failing) if r["status"] == "fail"]
    assert failed["node"] == "no_negative_revenue" and "Got 3 results" in failed["message"]


def test_a_timeout_or_a_cancelled_flow_run_stops_dbt(
    prefect_python: Path, prefect_api: dict[str, str], shop: dict[str, str]
) -> None:
    Path(shop["package"], "models", "slow.sql").write_text(SLOW_MODEL)

    out = run_script(prefect_python, SCRIPT, "stop", json.dumps({**shop, "timeout": 45}), env=prefect_api)

    timeout = out["timeout"]
    assert timeout["tasks"] == {next(iter(timeout["tasks"])): "TimedOut"}, timeout
    assert timeout["flow"] == "TimedOut", timeout
    assert timeout["workers_seen"] >= 1 and timeout["workers_left"] == [], timeout
    assert timeout["database_released"], timeout

    sigterm = out["sigterm"]  # SIGTERM while the slow model's query runs
    assert sigterm["query_started"], sigterm
    assert sigterm["raised"] == "TerminationSignal", sigterm
    assert sigterm["redelivered"] == [15], sigterm  # Prefect then ends the process (after dbt stopped)
    assert sigterm["flow"] in ("Crashed", "Cancelled") and set(sigterm["tasks"].values()) == {"Crashed"}, sigterm
    assert sigterm["workers_seen"] >= 1 and sigterm["workers_left"] == [], sigterm
    assert sigterm["database_released"], sigterm  # no process holds the DuckDB file: dbt's query is over


def test_the_dbt_cloud_task_runs_a_job_reattaches_on_retry_and_cancels_on_timeout(
    prefect_python: Path, prefect_api: dict[str, str]
) -> None:
    out = run_script(prefect_python, SCRIPT, "cloud", "{}", env=prefect_api)

    ok = out["ok"]
    assert ok["flow"] == "Completed" and ok["new_runs"] == ["Success"], ok
    assert ok["returned"]["status_humanized"] == "Success"
    final = table(ok, "dbt-cloud-results")  # the run's node results
    assert final, ok
    live = [json.loads(a["data"]) if isinstance(a["data"], str) else a["data"]
            for a in ok["artifacts"] if a["key"] == "dbt-cloud-results-live"]
    assert live, ok["artifacts"]  # nodes were published while the run ran, before its results table
    assert {row["node"] for version in live for row in version} <= {row["node"] for row in final}
    assert len(ok["records"]) == 1, ok["records"]  # the Cloud run left its record
    assert any(a["type"] == "markdown" or a["type"] == "link" for a in ok["artifacts"]), ok["artifacts"]

    retried = out["retried"]  # first try failed after its run existed; the retry reattached to that run
    assert retried["flow"] == "Completed" and retried["new_runs"] == ["Success"], retried

    timed_out = out["timed_out"]
    assert timed_out["tasks"] == {next(iter(timed_out["tasks"])): "TimedOut"}, timed_out
    assert timed_out["new_runs"] == ["Cancelled"], timed_out


def test_cancelling_a_served_flow_run_through_the_api_stops_dbt(
    prefect_python: Path, prefect_api: dict[str, str], shop: dict[str, str]
) -> None:
    Path(shop["package"], "models", "slow.sql").write_text(SLOW_MODEL)

    out = run_script(prefect_python, SCRIPT, "api_cancel", json.dumps(shop), env=prefect_api)

    cancelled = out["api_cancel"]
    assert cancelled["flow"] == "Cancelled", cancelled
    assert cancelled["workers_seen"] >= 1 and cancelled["workers_left"] == [], cancelled
