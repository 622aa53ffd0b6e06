"""The Core runner on a real DuckDB file: every command, vars, errors, events."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import duckdb
import pytest

import dbt_kickoff
from dbt_kickoff import DBTProcessingError, IncrementalSchemaOutOfSyncError, PrerequisitesException
from dbt_kickoff.engines import DbtEvent


def runner_for(shop_duckdb: Path, shop_project: Path, **kwargs: object) -> dbt_kickoff.PackageRunner:
    return dbt_kickoff.package(
        f"duckdb:///{shop_duckdb}", shop_project, dataset_name="analytics", **kwargs  # type: ignore[arg-type]
    )


def test_run_all_reports_every_node_and_writes_tables(shop_duckdb: Path, shop_project: Path) -> None:
    events: list[DbtEvent] = []
    with runner_for(shop_duckdb, shop_project, on_event=events.append) as runner:
        results = runner.run_all(additional_vars={"source_dataset_name": "raw_data"})
        steps = [step.command for step in runner.last_report.steps]
    assert steps == ["seed", "run", "test"]
    by_id = {r.unique_id: r for r in results}
    assert by_id["seed.shop.countries"].status == "success"
    assert by_id["seed.shop.countries"].rows_affected == 3
    for model in ("stg_orders", "revenue_by_country", "orders_incremental"):
        node = by_id[f"model.shop.{model}"]
        assert node.status == "success" and node.model_name == model and node.resource_type == "model"
        assert node.time > 0
    tests = [r for r in results if r.resource_type == "test"]
    assert len(tests) == 5 and all(t.status == "pass" and t.failures == 0 for t in tests)
    finished = {e.node.unique_id for e in events if e.finished and e.node}
    assert finished == set(by_id)  # every node was streamed live as well
    with duckdb.connect(str(shop_duckdb), read_only=True) as con:
        rows = con.execute("select country, orders from analytics.revenue_by_country order by 1").fetchall()
    assert rows == [("DE", 20), ("FR", 20), ("US", 20)]


def test_vars_reach_dbt_and_single_commands_work(shop_duckdb: Path, shop_project: Path) -> None:
    with runner_for(shop_duckdb, shop_project) as runner:
        seeded = runner.seed()
        assert [r.unique_id for r in seeded] == ["seed.shop.countries"]
        ran = runner.run(["--select", "stg_orders"], additional_vars={"source_dataset_name": "raw_data"})
        assert [r.model_name for r in ran] == ["stg_orders"]
        built = runner.build(additional_vars={"source_dataset_name": "raw_data"})
        assert {r.resource_type for r in built} == {"seed", "model", "test"}
        listed = runner.invoke(["compile", "--select", "revenue_by_country"],
                               additional_vars={"source_dataset_name": "raw_data"})
        compiled = [r for r in listed if r.resource_type == "model"]
        assert [r.model_name for r in compiled] == ["revenue_by_country"]
        assert "group by" in (compiled[0].compiled_code or "").lower()
        vars_sent = json.loads((runner.target_path() / "run_results.json").read_text())["args"]["vars"]
    assert vars_sent["destination_dataset_name"] == "analytics"
    assert vars_sent["source_dataset_name"] == "raw_data"


def test_sql_error_names_the_failing_model(shop_duckdb: Path, shop_project: Path) -> None:
    with runner_for(shop_duckdb, shop_project) as runner, pytest.raises(DBTProcessingError) as info:
        runner.run_all(additional_vars={"source_dataset_name": "raw_data", "break_model": True})
    error = info.value
    assert error.command == "run"
    assert "stg_orders" in str(error) and "this_table_does_not_exist" in str(error).lower()
    statuses = {r.model_name: r.status for r in error.run_results}
    assert statuses["stg_orders"] == "error"
    assert statuses["revenue_by_country"] == "skipped"


def test_failing_data_test_raises_with_failures(shop_duckdb: Path, shop_project: Path) -> None:
    with runner_for(shop_duckdb, shop_project) as runner, pytest.raises(DBTProcessingError) as info:
        runner.run_all(additional_vars={"source_dataset_name": "raw_data", "fail_test": True})
    assert info.value.command == "test"
    failed = info.value.failed_nodes
    assert [r.model_name for r in failed] == ["no_negative_revenue"]
    assert failed[0].failures == 3 and "no_negative_revenue" in str(info.value)


def test_source_tests_selector_runs_source_tests_first(shop_duckdb: Path, shop_project: Path) -> None:
    with runner_for(shop_duckdb, shop_project) as runner:
        runner.run_all(additional_vars={"source_dataset_name": "raw_data"}, source_tests_selector="source:*")
        steps = runner.last_report.steps
    assert [s.command for s in steps] == ["seed", "test", "run", "test"]
    assert {r.unique_id.split(".")[0] for r in steps[1].results} == {"test"}
    assert all("source_" in r.model_name for r in steps[1].results)


def test_selector_matching_nothing_is_empty_with_a_warning(
    shop_duckdb: Path, shop_project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="dbt_kickoff")
    with runner_for(shop_duckdb, shop_project) as runner:
        assert runner.run(["--select", "no_such_model"], additional_vars={"source_dataset_name": "raw_data"}) == []
    assert any("matched no nodes" in r.getMessage() for r in caplog.records)


def test_out_of_sync_incremental_is_refreshed_or_raises(shop_duckdb: Path, shop_project: Path) -> None:
    raw = {"source_dataset_name": "raw_data"}
    with runner_for(shop_duckdb, shop_project) as runner:
        runner.seed()
        runner.run(additional_vars=raw)
        results = runner.run(["--select", "orders_incremental"], additional_vars={**raw, "extra_column": True})
        assert runner.last_report.steps[-1].full_refresh_retry
        assert [r.status for r in results] == ["success"]
    with runner_for(shop_duckdb, shop_project, auto_full_refresh_when_out_of_sync=False) as strict:
        with pytest.raises(IncrementalSchemaOutOfSyncError) as info:
            strict.run(["--select", "orders_incremental"], additional_vars=raw)
    assert "orders_incremental" in str(info.value)


def test_one_worker_serves_all_steps_and_survives_between_calls(shop_duckdb: Path, shop_project: Path) -> None:
    with runner_for(shop_duckdb, shop_project) as runner:
        runner.run_all(additional_vars={"source_dataset_name": "raw_data"})
        engine = runner.session.engine
        assert engine is not None and engine.commands_run == 3
        pid = engine.pid
        runner.test(additional_vars={"source_dataset_name": "raw_data"})
        assert runner.session.engine is engine and engine.pid == pid
        assert runner.dbt_version and runner.dbt_version.startswith("1.")
    assert runner.session.engine is None


def test_full_refresh_and_threads_are_passed(shop_duckdb: Path, shop_project: Path) -> None:
    with runner_for(shop_duckdb, shop_project, threads=2) as runner:
        runner.run_all(additional_vars={"source_dataset_name": "raw_data"}, full_refresh=True)
        args = json.loads((runner.target_path() / "run_results.json").read_text())["args"]
    assert args["threads"] == 2


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("missing-folder", "does not exist"),
        ("empty-folder", "no dbt_project.yml"),
        ("broken-project", "not valid YAML"),
    ],
)
def test_bad_package_locations(tmp_path: Path, shop_duckdb: Path, location: str, expected: str) -> None:
    (tmp_path / "empty-folder").mkdir()
    (tmp_path / "broken-project").mkdir()
    (tmp_path / "broken-project" / "dbt_project.yml").write_text("name: [unclosed\n")
    with pytest.raises(PrerequisitesException, match=expected):
        dbt_kickoff.package(f"duckdb:///{shop_duckdb}", tmp_path / location)


def test_generated_profile_is_removed_on_close(shop_duckdb: Path, shop_project: Path) -> None:
    runner = runner_for(shop_duckdb, shop_project)
    runner.seed()
    generated = [p.path for p in runner.session.profiles.values()]
    assert generated and all((p / "profiles.yml").is_file() for p in generated)
    runner.close()
    assert not any(p.exists() for p in generated)


def test_row_counts_are_filled_only_when_asked(shop_duckdb: Path, shop_project: Path) -> None:
    variables = {"source_dataset_name": "raw_data"}
    with runner_for(shop_duckdb, shop_project, records=False) as runner:
        plain = {r.model_name: r.rows_affected for r in runner.build(additional_vars=variables)
                 if r.resource_type == "model"}
    assert set(plain.values()) == {None}  # dbt-duckdb reports no rows for tables and views
    with runner_for(shop_duckdb, shop_project, records=False, row_counts=True) as runner:
        counted = {r.model_name: r.rows_affected for r in runner.build(additional_vars=variables)
                   if r.resource_type == "model"}
        in_report = {r.model_name: r.rows_affected for r in runner.last_report.results if r.resource_type == "model"}
    assert counted == in_report == {"stg_orders": 60, "revenue_by_country": 3, "orders_incremental": 60}
