"""The ``run_all`` step plan, written once: deps (when the package has packages), seed (when it has seeds),
source tests (when a selector is given), run, test. The runner, changed-only builds and retry all use it."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

from dbt_kickoff.core.call import Call
from dbt_kickoff.results import NodeResult


class PackageShape(Protocol):
    """What the plan needs to know of a package (a :class:`~dbt_kickoff.core.project.Project` has it)."""

    @property
    def has_package_dependencies(self) -> bool: ...

    @property
    def has_seeds(self) -> bool: ...


@dataclass(frozen=True)
class PlannedStep:
    """One step of ``run_all``: ``label`` (``"deps"``, ``"seed"``, ``"source tests"``, ``"run"``, ``"test"``) and
    the dbt command it runs."""

    label: str
    command: tuple[str, ...]
    full_refresh: bool = False


def run_all_plan(package: PackageShape, *, run_params: Sequence[str] = (), source_tests_selector: str | None = None,
                 full_refresh: bool = False, selection: Sequence[str] = (),
                 kinds: Collection[str] | None = None) -> list[PlannedStep]:
    """The steps of ``run_all`` for this package. ``selection`` (``--select …``) narrows seed, run and test to
    what a changed-only call chose, and ``kinds`` (the resource types it chose; ``None``: everything) leaves
    out the steps with nothing to do."""
    def wanted(*types: str) -> bool:
        return kinds is None or bool(set(types) & set(kinds))

    steps: list[PlannedStep] = []
    if package.has_package_dependencies:
        steps.append(PlannedStep("deps", ("deps",)))
    if package.has_seeds and wanted("seed"):
        steps.append(PlannedStep("seed", ("seed", *selection), full_refresh))
    if source_tests_selector:
        steps.append(PlannedStep("source tests", ("test", "--select", source_tests_selector)))
    if wanted("model", "snapshot"):
        steps.append(PlannedStep("run", ("run", *selection, *run_params), full_refresh))
    if wanted("test", "unit_test"):
        steps.append(PlannedStep("test", ("test", *selection)))
    return steps


def run_step(call: Call, step: PlannedStep) -> list[NodeResult]:
    """Run one planned step (``deps`` is skipped when what it would install is installed already)."""
    if step.command == ("deps",):
        call.install_dependencies()
        return []
    return call.step(list(step.command), full_refresh=step.full_refresh)


def run_plan(call: Call, plan: Sequence[PlannedStep]) -> list[NodeResult]:
    """Run the steps in order; the first failing step raises and ends the call."""
    for step in plan:
        run_step(call, step)
    return call.report.results
