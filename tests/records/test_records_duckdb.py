"""Run records on DuckDB with real dbt: what a record holds and retry from failure with dbt's own ``retry``.
(The records' own rules — refused records, an unwritable folder, ``keep_last`` — are checked on the fake
engine: tests/fake_calls/test_records_retention.py.)"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

import dbt_kickoff
from dbt_kickoff.errors import DBTProcessingError
from dbt_kickoff.records import open_record
from dbt_kickoff.records.identity import last_success_ref
from tests.records.conftest import break_model


def test_failed_run_is_recorded_and_retry_reruns_only_what_failed(
    shop: tuple[Path, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    project, database = shop
    records = tmp_path / "records"
    good_sql = break_model(project)
    with dbt_kickoff.package(
            f"duckdb:///{database}", project, source_dataset_name="raw_data", records=records) as runner:
        with pytest.raises(DBTProcessingError):
            runner.run_all()
        failed = open_record("latest", records)
        assert runner.last_report.outcome == "failed" and runner.last_report.record == failed.uri
        data = failed.data
        assert data["call"] == "run_all" and data["outcome"] == "failed"
        assert [s["command"] for s in data["steps"]] == ["seed", "run"]
        assert data["identity"]["dbt_version"] == runner.dbt_version
        assert data["identity"]["project_name"] == "shop" and data["identity"]["target"] == "duckdb"
        assert {"manifest.json", "run_results.json", "dbt.log", "report.json"} <= set(failed.store.files(failed.name))
        assert json.loads(failed.store.read_bytes(failed.name, "run_results.json"))["args"]["which"] == "run"
        assert "no_such_table" in failed.store.read_bytes(failed.name, "dbt.log").decode()
        run_step = failed.report.steps[1]
        statuses = {r.model_name: r.status for r in run_step.results}
        assert statuses == {"stg_orders": "error", "orders_incremental": "skipped", "revenue_by_country": "skipped"}
        seed = failed.report.steps[0].results[0]
        assert seed.started_at is not None and seed.completed_at is not None and seed.completed_at >= seed.started_at
        assert seed.thread_id
        assert failed.store.read_ref(last_success_ref(failed.identity.state_key)) is None

        (project / "models" / "stg_orders.sql").write_text(good_sql)
        results = runner.retry()
        retried = open_record("latest", records)
        commands = [s.command for s in runner.last_report.steps]
        assert commands == ["retry", "test"]  # dbt retry of the failed step, then the step run_all never reached
        first = {r.model_name: r.status for r in runner.last_report.steps[0].results}
        assert first == {"stg_orders": "success", "orders_incremental": "success", "revenue_by_country": "success"}
        assert all(r.status == "pass" for r in runner.last_report.steps[1].results)
        assert len(results) == 3 + len(runner.last_report.steps[1].results)
        assert retried.outcome == "success" and retried.data["call"] == "retry"
        assert retried.store.read_ref(last_success_ref(retried.identity.state_key)) == retried.name

        caplog.set_level(logging.WARNING, logger="dbt_kickoff")
        assert runner.retry() == []
        assert any("succeeded: nothing to retry" in r.getMessage() for r in caplog.records)


def test_a_retry_chain_is_one_merged_record(shop: tuple[Path, Path], tmp_path: Path) -> None:
    """run_all fails in run; its retry fails again; after the fix, a retry of the failed retry finishes the whole
    call (the test step run_all never reached included) and its record holds every node of the chain."""
    project, database = shop
    records = tmp_path / "records"
    good_sql = break_model(project)
    with dbt_kickoff.package(
            f"duckdb:///{database}", project, source_dataset_name="raw_data", records=records) as runner:
        with pytest.raises(DBTProcessingError):
            runner.run_all()
        original = open_record("latest", records)
        with pytest.raises(DBTProcessingError):
            runner.retry()
        failed_retry = open_record("latest", records)
        link = failed_retry.data["retry"]
        assert failed_retry.data["params"] == {"record": original.uri}  # the retried record by its URI only
        assert link["root"] == original.uri and [a["label"] for a in link["pending"]] == ["retry run", "test"]
        assert {r["status"] for r in link["merged"]} >= {"error", "skipped", "success"}

        (project / "models" / "stg_orders.sql").write_text(good_sql)
        results = runner.retry()  # the package's last record: the failed retry
        finished = open_record("latest", records)
        assert [s.command for s in runner.last_report.steps] == ["retry", "test"]
        assert finished.data["params"] == {"record": failed_retry.uri} and finished.data["retry"]["pending"] == []
        assert finished.data["retry"]["root"] == original.uri
        merged = {r["model_name"]: r["status"] for r in finished.data["retry"]["merged"]}
        assert merged["countries"] == "success"  # the seed, from the original call
        assert merged["stg_orders"] == merged["revenue_by_country"] == "success"
        assert sum(1 for r in results if r.resource_type == "test") == len(runner.last_report.steps[1].results)
        assert len(json.dumps(finished.data)) < 3 * len(json.dumps(original.data))  # no nesting of records
        assert runner.retry() == []

