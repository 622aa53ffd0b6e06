"""``retry()`` after a ``run_all()`` that stopped, on the fake engine: which steps run again, and on which nodes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import dbt_kickoff
from dbt_kickoff.engines import DbtEvent
from tests.fake_calls.conftest import MODELS, TESTS, statuses
from tests.fake_engine import FakeDbt


def test_a_failed_run_step_is_dbt_retried_then_test_runs(runner: dbt_kickoff.PackageRunner, fake: FakeDbt) -> None:
    fake.fail("stg_orders")
    with pytest.raises(dbt_kickoff.DBTProcessingError):
        runner.run_all()
    fake.heal("stg_orders")
    before = len(fake.commands)
    results = runner.retry()
    assert fake.command_names[before:] == ["retry", "test"]  # the seed is not run again
    retry = fake.commands[before]
    assert retry.nodes == ["model.shop.stg_orders", "model.shop.orders_incremental", "model.shop.revenue_by_country"]
    state = Path(retry.option("--state")[0])
    assert state.name == "02-run" and (state / "run_results.json").is_file()  # the record's run step
    assert [s.command for s in runner.last_report.steps] == ["retry", "test"]
    assert statuses(results) == {**dict.fromkeys(MODELS, "success"), **dict.fromkeys(TESTS, "pass")}
    assert runner.last_report.outcome == "success"


def test_a_failed_seed_is_retried_then_run_and_test_follow(runner: dbt_kickoff.PackageRunner, fake: FakeDbt) -> None:
    fake.fail("countries")
    with pytest.raises(dbt_kickoff.DBTProcessingError):
        runner.run_all(run_params=["--fail-fast", "--threads", "2"])
    fake.heal("countries")
    before = len(fake.commands)
    runner.retry()
    assert fake.command_names[before:] == ["retry", "run", "test"]
    assert fake.commands[before].nodes == ["seed.shop.countries"]
    assert {"--fail-fast", "--threads"} <= set(fake.commands[before + 1].args)  # the call's run_params again


def test_a_failed_test_step_retries_only_the_failing_test(runner: dbt_kickoff.PackageRunner, fake: FakeDbt) -> None:
    fake.fail("unique_revenue_by_country_country")
    with pytest.raises(dbt_kickoff.DBTProcessingError):
        runner.run_all()
    fake.heal("unique_revenue_by_country_country")
    before = len(fake.commands)
    results = runner.retry()
    assert fake.command_names[before:] == ["retry"]
    assert statuses(results) == {"unique_revenue_by_country_country": "pass"}


def test_a_retry_that_fails_again_can_be_retried(runner: dbt_kickoff.PackageRunner, fake: FakeDbt) -> None:
    fake.fail("revenue_by_country")
    with pytest.raises(dbt_kickoff.DBTProcessingError):
        runner.run_all()
    with pytest.raises(dbt_kickoff.DBTProcessingError) as again:
        runner.retry()
    assert statuses(again.value.run_results) == {"revenue_by_country": "error"}
    assert runner.last_report.outcome == "failed"
    fake.heal("revenue_by_country")
    before = len(fake.commands)
    assert statuses(runner.retry())["revenue_by_country"] == "success"
    assert fake.command_names[before] == "retry"
    assert fake.commands[before].nodes == ["model.shop.revenue_by_country"]


def test_after_success_nothing_runs(runner: dbt_kickoff.PackageRunner, fake: FakeDbt) -> None:
    runner.run_all()
    before = len(fake.commands)
    assert runner.retry() == []
    assert fake.command_names[before:] == []


def test_a_cancelled_run_step_runs_again_whole(make_runner: Callable[..., dbt_kickoff.PackageRunner],
                                               fake: FakeDbt) -> None:
    holder: list[dbt_kickoff.PackageRunner] = []

    def cancel_at_the_blocked_node(event: DbtEvent) -> None:
        if event.name == "NodeStart" and event.node is not None and event.node.name == "orders_incremental" \
                and len(holder) == 1:
            holder.append(holder[0])  # once: the retry is not stopped
            holder[0].cancel("stopped by the test")

    fake.block("orders_incremental")
    runner = make_runner(on_event=cancel_at_the_blocked_node)
    holder.append(runner)
    with pytest.raises(dbt_kickoff.DbtCancelled) as cancelled:
        runner.run_all()
    assert cancelled.value.running == ["orders_incremental"]
    assert fake.command_names == ["seed", "run"]
    fake.unblock("orders_incremental")
    runner.retry()
    assert fake.command_names[2:] == ["run", "test"]  # the interrupted step whole (dbt left no results), then test
    assert fake.commands[2].option("--select") == [] and "--fail-fast" in fake.commands[2].args
