"""Which dbt commands a retry runs, from a record's report.json (no dbt needed)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.records.retry import RetryAction, call_command, plan_retry


@dataclass(frozen=True)
class Package:
    has_package_dependencies: bool = False
    has_seeds: bool = False

RUNNER_OPTIONS = ["--project-dir", "/p", "--no-use-colors", "--profiles-dir", "/tmp/x", "--vars", "{}"]


def _step(command: str, success: bool, args: list[str], results: bool = True) -> dict[str, Any]:
    return {"command": command, "success": success, "args": [*args, *RUNNER_OPTIONS],
            "record_dir": f"steps/{command}", "has_run_results": results}


def test_successful_record_needs_nothing() -> None:
    plan = plan_retry({"name": "r1", "outcome": "success", "steps": [_step("build", True, ["build"])]})
    assert plan.actions == [] and "nothing to retry" in plan.reason


def test_failed_run_all_step_is_dbt_retried_then_the_remaining_steps_run() -> None:
    data = {"call": "run_all", "outcome": "failed", "params": {"run_params": ["--fail-fast"], "full_refresh": True},
            "steps": [_step("seed", True, ["seed"]), _step("run", False, ["run", "--fail-fast"])]}
    plan = plan_retry(data, Package(has_seeds=True))
    assert plan.actions == [RetryAction("retry", step_dir="steps/run", label="retry run"),
                            RetryAction("run", ("test",), label="test")]


def test_cancelled_run_all_reruns_the_interrupted_step_whole() -> None:
    data = {"call": "run_all", "outcome": "cancelled", "params": {"source_tests_selector": "source:raw"},
            "steps": [_step("deps", True, ["deps"], results=False)]}
    plan = plan_retry(data, Package(has_package_dependencies=True))
    assert [a.command for a in plan.actions] == [("test", "--select", "source:raw"), ("run",), ("test",)]


def test_failed_step_without_results_runs_again_with_its_own_arguments() -> None:
    data = {"call": "build", "outcome": "failed",
            "steps": [_step("build", False, ["build", "--select", "tag:x", "--full-refresh"], results=False)]}
    (action,) = plan_retry(data).actions
    assert action.kind == "run" and action.command == ("build", "--select", "tag:x", "--full-refresh")
    assert action.full_refresh


def test_timed_out_single_command_runs_again_from_the_call_parameters() -> None:
    data = {"call": "source_freshness", "outcome": "timeout", "steps": [],
            "params": {"cmd_params": ["--select", "source:raw"]}}
    assert plan_retry(data).actions[0].command == ("source", "freshness", "--select", "source:raw")
    with pytest.raises(ConfigurationError, match="does not say which dbt command"):
        plan_retry({"call": "transform_loaded", "outcome": "timeout", "steps": [], "name": "r9"})


def test_call_command_strips_the_runner_options() -> None:
    assert call_command(["run", "--select", "a", *RUNNER_OPTIONS]) == ["run", "--select", "a"]


def test_cancelled_step_with_finished_nodes_but_no_command_line_runs_the_call_again() -> None:
    data = {"call": "build", "outcome": "cancelled", "params": {"cmd_params": ["--select", "tag:daily"]},
            "steps": [{"command": "build", "success": False, "args": [], "record_dir": None}]}
    assert plan_retry(data).actions[0].command == ("build", "--select", "tag:daily")


def test_run_all_steps_are_matched_by_command_when_deps_was_skipped() -> None:
    """deps had nothing to install (no step recorded): the failed run is still the run step of the plan."""
    data = {"call": "run_all", "outcome": "failed", "params": {"run_params": ["--fail-fast"]},
            "steps": [_step("seed", True, ["seed"]), _step("run", False, ["run", "--fail-fast"])]}
    plan = plan_retry(data, Package(has_package_dependencies=True, has_seeds=True))
    assert plan.actions == [RetryAction("retry", step_dir="steps/run", label="retry run"),
                            RetryAction("run", ("test",), label="test")]


def test_a_changed_only_run_all_without_seeds_to_build_finishes_with_the_steps_after_its_last() -> None:
    data = {"call": "run_all", "outcome": "failed", "params": {"changed_only": True},
            "steps": [_step("run", False, ["run", "--select", "x+"], results=False)]}
    plan = plan_retry(data, Package(has_seeds=True))
    assert [(a.kind, a.command) for a in plan.actions] == [("run", ("run",)), ("run", ("test",))]
