"""Run records on DuckDB with real dbt: what a record holds, retry from failure, retention, bad input."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

import dbt_kickoff
from dbt_kickoff.errors import ConfigurationError, DBTProcessingError
from dbt_kickoff.records import (
    RecordIncomplete,
    RecordNotFound,
    RecordStore,
    identity_for,
    last_successful_record,
    open_record,
    prune,
    store_for,
)
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


def test_record_of_another_package_or_dbt_version_is_refused(shop: tuple[Path, Path], tmp_path: Path) -> None:
    project, database = shop
    records = tmp_path / "records"
    with dbt_kickoff.package(
            f"duckdb:///{database}", project, source_dataset_name="raw_data", records=records) as runner:
        runner.seed()
        record = open_record("latest", records)
        other = tmp_path / "other_shop"
        shutil.copytree(project, other)
        with dbt_kickoff.package(f"duckdb:///{database}", other, source_dataset_name="raw_data",
                                 records=False) as stranger:
            with pytest.raises(ConfigurationError, match="is of the package"):
                stranger.retry(record.uri)
        copy = tmp_path / "copies" / record.name
        shutil.copytree(Path(record.uri), copy)
        data = json.loads((copy / "report.json").read_text())
        data["identity"]["dbt_version"] = "1.5.0"
        data["outcome"] = "failed"
        (copy / "report.json").write_text(json.dumps(data))
        with pytest.raises(ConfigurationError, match=r"made with dbt 1\.5\.0"):
            runner.retry(str(copy))
        (copy / "report.json").unlink()
        with pytest.raises(RecordIncomplete, match="half-written"):
            open_record(str(copy))
        with pytest.raises(RecordNotFound):
            open_record(str(tmp_path / "nothing-here"))


def test_unwritable_records_folder_warns_once_and_the_run_stands(
    shop: tuple[Path, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    project, database = shop
    blocker = tmp_path / "a-file"
    blocker.write_text("records cannot go below a file")
    caplog.set_level(logging.WARNING)
    with dbt_kickoff.package(
            f"duckdb:///{database}", project, source_dataset_name="raw_data", records=blocker / "records") as runner:
        results = runner.seed()
    assert [r.status for r in results] == ["success"]
    assert runner.last_report.outcome == "success" and runner.last_report.record is None
    warnings = [r for r in caplog.records if "run record could not be written" in r.getMessage()]
    assert len(warnings) == 1
    assert not any(p.name.startswith(".partial-") for p in tmp_path.rglob("*"))


def test_keep_last_prunes_old_records_but_keeps_the_last_good_one(shop: tuple[Path, Path], tmp_path: Path) -> None:
    project, database = shop
    records = tmp_path / "records"
    with dbt_kickoff.package(
            f"duckdb:///{database}", project, source_dataset_name="raw_data", records=records, keep_last=2) as runner:
        runner.seed()
        good = open_record("latest", records).name
        # what changed-only builds look up before they run: the last good run of this package/target/vars/dbt
        identity = identity_for(runner)
        store = store_for(runner)
        assert store is not None and store.uri() == str(records)
        found = last_successful_record(store, identity)
        assert found is not None and found.name == good and found.identity == identity
        assert last_successful_record(store, identity_for(runner, {"other": 1})) is None
        for _ in range(3):
            with pytest.raises(DBTProcessingError):
                runner.run(additional_vars={"break_model": True})
    store = RecordStore(records)
    names = store.names()
    assert len(names) == 3 and good in names  # the 2 newest + the last successful run (named by a ref)
    assert prune(store, 1) == [names[-2]]
