"""``run_all()`` step by step on the fake engine: deps, seed, source tests, run, test; it stops at the first
failing step, and ``--fail-fast`` reaches the run step only."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import dbt_kickoff
from tests.fake_calls.conftest import MODELS, SOURCE_TESTS, TESTS, statuses
from tests.fake_engine import FakeDbt


def test_seed_run_test_in_order_and_every_nodes_result(runner: dbt_kickoff.PackageRunner, fake: FakeDbt) -> None:
    results = runner.run_all()
    assert fake.command_names == ["seed", "run", "test"]  # no packages.yml: no deps
    assert [step.command for step in runner.last_report.steps] == ["seed", "run", "test"]
    assert statuses(results) == {"countries": "success", **dict.fromkeys(MODELS, "success"),
                                 **dict.fromkeys(TESTS, "pass")}
    assert [r.model_name for r in results][:1] == ["countries"]
    assert runner.last_report.outcome == "success"
    run = fake.commands[1]
    assert run.option("--vars") and "--fail-fast" in run.args  # run_params reach the run step only
    assert "--fail-fast" not in fake.commands[0].args and "--fail-fast" not in fake.commands[2].args


def test_deps_first_when_the_package_has_packages_then_skipped_while_unchanged(
    make_runner: Callable[..., dbt_kickoff.PackageRunner], fake: FakeDbt, project: Path
) -> None:
    (project / "packages.yml").write_text("packages:\n  - local: ../helpers\n")
    (project / "dbt_packages" / "helpers").mkdir(parents=True)  # what dbt deps installs
    runner = make_runner()
    runner.run_all()
    assert fake.command_names == ["deps", "seed", "run", "test"]
    runner.run_all()
    assert fake.command_names[4:] == ["seed", "run", "test"]
    (project / "packages.yml").write_text("packages:\n  - local: ../helpers\n  - local: ../more\n")
    runner.run_all()
    assert fake.command_names[7:] == ["deps", "seed", "run", "test"]


def test_source_tests_run_between_seed_and_run(runner: dbt_kickoff.PackageRunner, fake: FakeDbt) -> None:
    runner.run_all(source_tests_selector="source:raw")
    assert fake.command_names == ["seed", "test", "run", "test"]
    assert [step.command for step in runner.last_report.steps] == ["seed", "test", "run", "test"]
    assert statuses(runner.last_report.steps[1].results) == dict.fromkeys(SOURCE_TESTS, "pass")
    assert fake.commands[1].option("--select") == ["source:raw"]


def test_a_failing_seed_stops_before_run(runner: dbt_kickoff.PackageRunner, fake: FakeDbt) -> None:
    fake.fail("countries")
    with pytest.raises(dbt_kickoff.DBTProcessingError) as failed:
        runner.run_all()
    assert fake.command_names == ["seed"]
    assert failed.value.command == "seed"
    assert "seed countries [error]" in str(failed.value)
    assert runner.last_report.outcome == "failed" and [s.command for s in runner.last_report.steps] == ["seed"]


def test_a_failing_source_test_stops_before_run(runner: dbt_kickoff.PackageRunner, fake: FakeDbt) -> None:
    fake.fail("source_unique_raw_orders_id")
    with pytest.raises(dbt_kickoff.DBTProcessingError) as failed:
        runner.run_all(source_tests_selector="source:raw")
    assert fake.command_names == ["seed", "test"]
    assert statuses(failed.value.run_results) == {"source_unique_raw_orders_id": "fail",
                                                  "source_not_null_raw_orders_id": "pass"}
    assert "Got 2 results, configured to fail if != 0" in str(failed.value)


def test_a_failing_model_stops_before_test_and_fail_fast_skips_the_rest(
    runner: dbt_kickoff.PackageRunner, fake: FakeDbt
) -> None:
    fake.fail("stg_orders")
    with pytest.raises(dbt_kickoff.DBTProcessingError) as failed:
        runner.run_all()
    assert fake.command_names == ["seed", "run"]
    assert failed.value.command == "run"
    run = {r.model_name: (r.status, r.message) for r in failed.value.run_results}
    assert run["stg_orders"][0] == "error"
    assert run["orders_incremental"] == run["revenue_by_country"] == ("skipped", "Skipping due to fail_fast")
    assert "model stg_orders [error]: Runtime Error in model stg_orders" in str(failed.value)
    assert [r.model_name for r in runner.last_report.results] == ["countries", *[r.model_name for r in
                                                                                 failed.value.run_results]]


def test_without_fail_fast_only_what_is_downstream_is_skipped(runner: dbt_kickoff.PackageRunner,
                                                                fake: FakeDbt) -> None:
    fake.fail("orders_incremental")
    with pytest.raises(dbt_kickoff.DBTProcessingError):
        runner.run_all(run_params=())
    assert "--fail-fast" not in fake.commands[1].args
    run = runner.last_report.steps[1]
    assert statuses(run.results) == {"stg_orders": "success", "orders_incremental": "error",
                                     "revenue_by_country": "success"}
    assert fake.command_names == ["seed", "run"]


def test_a_failing_data_test_fails_the_last_step(runner: dbt_kickoff.PackageRunner, fake: FakeDbt) -> None:
    fake.fail("not_null_revenue_by_country_country", failures=3)
    with pytest.raises(dbt_kickoff.DBTProcessingError) as failed:
        runner.run_all()
    assert failed.value.command == "test"
    failing = [r for r in failed.value.run_results if r.is_failure]
    assert [(r.model_name, r.status, r.failures) for r in failing] == [
        ("not_null_revenue_by_country_country", "fail", 3)]
    assert runner.last_report.steps[-1].success is False
    assert [s.success for s in runner.last_report.steps] == [True, True, False]
