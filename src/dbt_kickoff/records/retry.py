"""Retry from failure: which dbt commands rerun what a recorded call left failed, skipped or undone.

dbt's own ``retry`` semantics: a step that failed with a ``run_results.json`` becomes ``dbt retry --state
<that step's folder>`` (only its error, fail and skipped nodes run again); a step that was stopped before dbt
wrote its results (cancel, timeout, crash) runs again whole; for ``run_all`` the steps that never started
follow (seed → source tests → run → test). A successful record needs nothing.

A retry is one link of a chain: its record keeps what it did not finish (``retry.pending``: the action that
failed and those after it), so a retry of a failed retry finishes the original call — the steps it never reached
included — and ``retry.merged`` holds every node's latest result across the chain.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dbt_kickoff.core.plans import PackageShape, PlannedStep, run_all_plan
from dbt_kickoff.errors import ConfigurationError

# Options the runner appends after a call's own dbt arguments (see PackageRunner._command_line).
_RUNNER_OPTIONS_START = "--project-dir"
STOPPED_OUTCOMES = frozenset({"cancelled", "timeout"})
"""Outcomes of a call stopped mid-step: that step runs again whole."""
RETRYABLE_COMMANDS = frozenset({"build", "run", "test", "seed", "snapshot", "compile", "run-operation", "retry"})


@dataclass(frozen=True)
class RetryAction:
    """``kind="retry"``: ``dbt retry --state`` the ``step_dir`` of ``record`` (``None``: the record being
    retried); ``kind="run"``: run ``command``."""

    kind: str
    command: tuple[str, ...] = ()
    step_dir: str | None = None
    full_refresh: bool = False
    label: str = ""
    record: str | None = None

    def to_dict(self, record: str) -> dict[str, Any]:
        """As a retry record keeps it (``record``: the URI its ``step_dir`` is in when the action names none)."""
        return {"kind": self.kind, "command": list(self.command), "step_dir": self.step_dir,
                "full_refresh": self.full_refresh, "label": self.label,
                "record": (self.record or record) if self.kind == "retry" else None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RetryAction:
        return cls(kind=str(data.get("kind")), command=tuple(data.get("command") or ()),
                   step_dir=data.get("step_dir"), full_refresh=bool(data.get("full_refresh")),
                   label=str(data.get("label") or ""), record=data.get("record"))


@dataclass
class RetryPlan:
    actions: list[RetryAction] = field(default_factory=list)
    reason: str = ""


def call_command(args: Sequence[str]) -> list[str]:
    """The call's own dbt arguments from a recorded command line (without the runner's options)."""
    args = list(args)
    return args[: args.index(_RUNNER_OPTIONS_START)] if _RUNNER_OPTIONS_START in args else args


@dataclass(frozen=True)
class _NoPackages:
    has_package_dependencies: bool = False
    has_seeds: bool = False


def _as_action(step: PlannedStep) -> RetryAction:
    return RetryAction("run", step.command, full_refresh=step.full_refresh, label=step.label)


def _position_of_each(steps: Sequence[Mapping[str, Any]], plan: Sequence[PlannedStep]) -> list[int]:
    """Where each recorded step stands in the plan, matched in order by dbt command (a step the call skipped,
    such as ``deps`` with its packages installed or what a changed-only call had nothing for, has no record)."""
    positions: list[int] = []
    position = 0
    for step in steps:
        while position < len(plan) and plan[position].command[0] != step.get("command"):
            position += 1
        if position == len(plan):
            break
        positions.append(position)
        position += 1
    return positions


def plan_retry(data: Mapping[str, Any], package: PackageShape | None = None) -> RetryPlan:
    """What to run to finish the recorded call ``data`` (a record's report.json); ``package`` tells which steps
    ``run_all`` has for it (packages to install, seeds)."""
    outcome = data.get("outcome")
    if outcome == "success":
        return RetryPlan(reason=f"the run {data.get('name')} succeeded: nothing to retry")
    steps: list[Mapping[str, Any]] = list(data.get("steps") or ())
    call = data.get("call")
    last = steps[-1] if steps else None
    failed_last = last is not None and last.get("success") is False
    if last is not None and outcome in STOPPED_OUTCOMES:
        last = {**last, "has_run_results": False}  # what a stopped dbt left is no state to retry from: run it again
    if call == "retry":
        return _finish_chain(data, last if failed_last else None)
    if call == "run_all":
        params = data.get("params") or {}
        plan = run_all_plan(package or _NoPackages(), run_params=tuple(params.get("run_params") or ()),
                            source_tests_selector=params.get("source_tests_selector"),
                            full_refresh=bool(params.get("full_refresh")))
        positions = _position_of_each(steps, plan)
        done = positions[-1] + 1 if positions else 0
        if done >= len(plan) and not failed_last:
            return RetryPlan(reason=f"every step of the run {data.get('name')} finished: nothing to retry")
        actions = []
        if failed_last and positions and len(positions) == len(steps):
            assert last is not None
            actions.append(_redo(last, _as_action(plan[positions[-1]])))
        actions += [_as_action(step) for step in plan[done:]]
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


def steps_not_run(data: Mapping[str, Any], package: PackageShape | None = None) -> list[str]:
    """The steps a failed call never reached, by label: ``run_all``'s (deps, seed, source tests, run, test) after
    its last recorded step, or what a retry left pending after its failed action."""
    if data.get("outcome") in (None, "success"):
        return []
    if data.get("call") == "retry":
        return [str(item.get("label")) for item in ((data.get("retry") or {}).get("pending") or ())[1:]]
    if data.get("call") != "run_all":
        return []
    params = data.get("params") or {}
    plan = run_all_plan(package or _NoPackages(), run_params=tuple(params.get("run_params") or ()),
                        source_tests_selector=params.get("source_tests_selector"),
                        full_refresh=bool(params.get("full_refresh")))
    positions = _position_of_each(list(data.get("steps") or ()), plan)
    return [step.label for step in plan[positions[-1] + 1 if positions else 0:]]


def _finish_chain(data: Mapping[str, Any], failed: Mapping[str, Any] | None) -> RetryPlan:
    """A failed retry: what it left pending, its failed action redone from its own results when dbt left them."""
    pending = [RetryAction.from_dict(item) for item in (data.get("retry") or {}).get("pending") or ()]
    if not pending:
        return RetryPlan(reason=f"the retry {data.get('name')} left nothing pending: nothing to retry")
    first = _redo(failed, pending[0]) if failed is not None else pending[0]
    return RetryPlan(actions=[first, *pending[1:]])


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
