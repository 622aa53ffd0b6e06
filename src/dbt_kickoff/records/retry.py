"""Retry from failure: which dbt commands rerun what a recorded call left failed, skipped or undone.

dbt's own ``retry`` semantics: a step that failed with a ``run_results.json`` becomes ``dbt retry --state
<that step's folder>`` (only its error, fail and skipped nodes run again); a step that was stopped before dbt
wrote its results (cancel, timeout, crash) runs again whole; for ``run_all`` the steps that never started
follow (seed → source tests → run → test). A successful record needs nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dbt_kickoff.errors import ConfigurationError

# Options the runner appends after a call's own dbt arguments (see PackageRunner._command_line).
_RUNNER_OPTIONS_START = "--project-dir"
RETRYABLE_COMMANDS = frozenset({"build", "run", "test", "seed", "snapshot", "compile", "run-operation", "retry"})


@dataclass(frozen=True)
class RetryAction:
    """``kind="retry"``: ``dbt retry --state`` the record's ``step_dir``; ``kind="run"``: run ``command``."""

    kind: str
    command: tuple[str, ...] = ()
    step_dir: str | None = None
    full_refresh: bool = False
    label: str = ""


@dataclass
class RetryPlan:
    actions: list[RetryAction] = field(default_factory=list)
    reason: str = ""


def call_command(args: Sequence[str]) -> list[str]:
    """The call's own dbt arguments from a recorded command line (without the runner's options)."""
    args = list(args)
    return args[: args.index(_RUNNER_OPTIONS_START)] if _RUNNER_OPTIONS_START in args else args


def run_all_steps(params: Mapping[str, Any], *, has_deps: bool, has_seeds: bool) -> list[tuple[str, RetryAction]]:
    """The steps ``run_all`` takes with these parameters, in order, as (label, action)."""
    steps: list[tuple[str, RetryAction]] = []
    full_refresh = bool(params.get("full_refresh"))
    if has_deps:
        steps.append(("deps", RetryAction("run", ("deps",), label="deps")))
    if has_seeds:
        steps.append(("seed", RetryAction("run", ("seed",), full_refresh=full_refresh, label="seed")))
    if params.get("source_tests_selector"):
        selector = str(params["source_tests_selector"])
        steps.append(("source tests", RetryAction("run", ("test", "--select", selector), label="source tests")))
    run_params = tuple(params.get("run_params") or ())
    steps.append(("run", RetryAction("run", ("run", *run_params), full_refresh=full_refresh, label="run")))
    steps.append(("test", RetryAction("run", ("test",), label="test")))
    return steps


def plan_retry(data: Mapping[str, Any], *, has_deps: bool = False, has_seeds: bool = False) -> RetryPlan:
    """What to run to finish the recorded call ``data`` (a record's report.json)."""
    outcome = data.get("outcome")
    if outcome == "success":
        return RetryPlan(reason=f"the run {data.get('name')} succeeded: nothing to retry")
    steps: list[Mapping[str, Any]] = list(data.get("steps") or ())
    call = data.get("call")
    last = steps[-1] if steps else None
    failed_last = last is not None and last.get("success") is False
    if call == "run_all":
        plan = run_all_steps(data.get("params") or {}, has_deps=has_deps, has_seeds=has_seeds)
        done = len(steps) - 1 if failed_last else len(steps)
        if done >= len(plan) and not failed_last:
            return RetryPlan(reason=f"every step of the run {data.get('name')} finished: nothing to retry")
        actions = []
        if failed_last:
            assert last is not None
            actions.append(_redo(last, plan[done][1]))
            done += 1
        actions += [action for _, action in plan[done:]]
        return RetryPlan(actions=actions)
    if failed_last and last is not None and last.get("args"):
        return RetryPlan(actions=[_redo(last, RetryAction("run", tuple(call_command(last.get("args") or ())),
                                                          full_refresh="--full-refresh" in (last.get("args") or ())))])
    command = _interrupted_command(data)
    if command is None:
        raise ConfigurationError(
            f"the record {data.get('name')} ({outcome}) does not say which dbt command to run again"
        )
    return RetryPlan(actions=[RetryAction("run", tuple(command), label=command[0])])


def _redo(step: Mapping[str, Any], fallback: RetryAction) -> RetryAction:
    """``dbt retry`` when dbt left the failed step's results, else the step again."""
    if step.get("record_dir") and step.get("command") in RETRYABLE_COMMANDS and step.get("has_run_results"):
        return RetryAction("retry", step_dir=str(step["record_dir"]), label=f"retry {step.get('command')}")
    return fallback


_CALL_COMMANDS = {"run": "run", "build": "build", "test": "test", "seed": "seed", "snapshot": "snapshot",
                  "deps": "deps", "source_freshness": "source freshness"}


def _interrupted_command(data: Mapping[str, Any]) -> list[str] | None:
    """The command a single-command call was running when it was stopped."""
    params = data.get("params") or {}
    call = str(data.get("call"))
    if call in _CALL_COMMANDS:
        return [*_CALL_COMMANDS[call].split(), *(params.get("cmd_params") or ())]
    if call == "invoke":
        return list(params.get("args") or ()) or None
    return None
