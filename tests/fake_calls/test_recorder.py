"""What a run record holds after a call that succeeded, failed or was cancelled (fake engine, real records)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

import dbt_kickoff
from dbt_kickoff.engines import DbtEvent
from dbt_kickoff.records import open_record
from tests.fake_calls.conftest import statuses
from tests.fake_engine import FakeDbt


def test_a_successful_run_all_leaves_every_steps_artifacts(runner: dbt_kickoff.PackageRunner, fake: FakeDbt,
                                                             records: Path, project: Path) -> None:
    results = runner.run_all()
    record = open_record("latest", records)
    assert record.outcome == "success" and runner.last_report.record == record.uri
    data = record.data
    assert data["call"] == "run_all" and data["error"] is None and data["running"] == []
    assert data["step_dirs"] == ["steps/01-seed", "steps/02-run", "steps/03-test"]
    assert set(record.store.files(record.name)) == {
        "report.json", "started.json", "manifest.json", "run_results.json", "dbt.log",
        "steps/01-seed/run_results.json", "steps/02-run/run_results.json", "steps/03-test/run_results.json"}
    for step, folder, invocation in zip(data["steps"], data["step_dirs"], fake.commands, strict=True):
        assert step["record_dir"] == folder and step["has_run_results"] is True
        kept = json.loads(record.store.read_bytes(record.name, f"{folder}/run_results.json"))
        assert kept["args"]["which"] == invocation.name
        assert kept["metadata"]["invocation_id"] == step["invocation_id"]
    last = json.loads(record.store.read_bytes(record.name, "run_results.json"))
    assert last["args"]["which"] == "test"  # the last step's results at the top
    identity = data["identity"]
    assert identity["dbt_version"] == fake.dbt_version == runner.dbt_version
    assert identity["project_name"] == "shop" and identity["target"] == "duckdb"
    assert data["package"]["project_dir"] == str(project)
    assert [r.to_dict() for r in record.report.results] == [r.to_dict() for r in results]
    assert data["params"]["run_params"] == ["--fail-fast"]


def test_a_failed_run_all_records_the_error_and_the_failing_step(runner: dbt_kickoff.PackageRunner,
                                                                  fake: FakeDbt, records: Path) -> None:
    fake.fail("stg_orders")
    with pytest.raises(dbt_kickoff.DBTProcessingError) as failed:
        runner.run_all()
    record = open_record("latest", records)
    assert record.outcome == "failed" and runner.last_report.outcome == "failed"
    assert record.data["error"] == str(failed.value)
    assert [s["command"] for s in record.data["steps"]] == ["seed", "run"]
    assert [s["success"] for s in record.data["steps"]] == [True, False]
    assert statuses(record.report.steps[1].results) == {"stg_orders": "error", "orders_incremental": "skipped",
                                                        "revenue_by_country": "skipped"}
    assert "no_such_table" in record.store.read_bytes(record.name, "dbt.log").decode()
    assert json.loads(record.store.read_bytes(record.name, "run_results.json"))["args"]["which"] == "run"


def test_a_cancelled_call_records_what_finished_and_what_was_running(
    make_runner: Callable[..., dbt_kickoff.PackageRunner], fake: FakeDbt, records: Path
) -> None:
    holder: list[dbt_kickoff.PackageRunner] = []

    def cancel_at_the_blocked_node(event: DbtEvent) -> None:
        if event.name == "NodeStart" and event.node is not None and event.node.name == "revenue_by_country":
            holder[0].cancel("stopped by the test")

    fake.block("revenue_by_country")
    runner = make_runner(on_event=cancel_at_the_blocked_node)
    holder.append(runner)
    with pytest.raises(dbt_kickoff.DbtCancelled) as cancelled:
        runner.build()
    assert cancelled.value.running == ["revenue_by_country"]
    record = open_record("latest", records)
    assert record.outcome == "cancelled" == runner.last_report.outcome
    assert record.data["running"] == ["revenue_by_country"]
    finished = statuses(record.report.results)
    assert finished["stg_orders"] == "success" and "revenue_by_country" not in finished
    assert "stopped by the test" in record.data["error"]
    assert not any(name.endswith("run_results.json") for name in record.store.files(record.name))  # none written
