"""``build(changed_only=True)`` / ``run_all(changed_only=True)``: decide what changed, build only that, and say
why each node was built (``NodeResult.reason``) and which were left alone (``last_report.changed``)."""

from __future__ import annotations

import dataclasses
import logging
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dbt_kickoff import commands
from dbt_kickoff.changed import summary as texts
from dbt_kickoff.changed.history import History, find_history
from dbt_kickoff.changed.listing import NodeLister
from dbt_kickoff.changed.selection import (
    BUILT_TYPES,
    SELECTION_FLAGS,
    Criterion,
    reasons_by_node,
    selectors_of,
)
from dbt_kickoff.changed.source_state import (
    ask_warehouse,
    current_manifest,
    dbt_freshness,
    loaded_at_snapshot,
    recorded_loaded_at,
)
from dbt_kickoff.changed.sources import Source, freshness_reasons, loaded_at_in, source_from, sources_of_manifest
from dbt_kickoff.changed.state import State, StateUnusable, make_state
from dbt_kickoff.changed.summary import ChangeSummary
from dbt_kickoff.environments.installed import installed_dbt_version
from dbt_kickoff.errors import ConfigurationError, DbtCancelled, DBTProcessingError, KickoffError
from dbt_kickoff.records.hook import identity_for, store_for
from dbt_kickoff.results import NodeResult

if TYPE_CHECKING:
    from dbt_kickoff.runner import PackageRunner

logger = logging.getLogger("dbt_kickoff.changed")


@dataclass
class Decision:
    """What to build: ``selectors`` (``None``: everything, for ``default_reason``), with ``--state`` when
    ``state_dir`` is set, and each node's reason."""

    selectors: list[str] | None = None
    state_dir: Path | None = None
    reasons: dict[str, str] = field(default_factory=dict)
    kinds: set[str] = field(default_factory=set)
    default_reason: str | None = None
    freshness_file: Path | None = None

    @property
    def nothing(self) -> bool:
        return self.selectors is not None and not self.reasons


def run_changed(runner: PackageRunner, call: str, *, cmd_params: Sequence[str], additional_vars: Mapping[str, Any]
                | None, dataset: str | None, full_refresh: bool, always_build: str | None,
                source_tests_selector: str | None = None) -> list[NodeResult]:
    """See :meth:`PackageRunner.build` (``changed_only``)."""
    if any(str(arg).split("=", 1)[0] in SELECTION_FLAGS for arg in cmd_params):
        raise ConfigurationError(
            "changed_only=True chooses the nodes itself: drop --select/--selector from the dbt arguments (--exclude "
            "is fine), or use always_build= for nodes that must always run"
        )
    report = runner._new_report()
    changes = report.changed = ChangeSummary()
    started = time.perf_counter()
    with runner._locked(), tempfile.TemporaryDirectory(prefix="dbt-kickoff-changed-") as scratch:
        if call == "run_all":
            runner.ensure_newest_package()
        report.commit_sha = runner.commit_sha
        commands_before = _commands_run(runner)
        decision = decide(runner, changes, Path(scratch), additional_vars, dataset,
                          always_build or runner.always_build)
        changes.decision_seconds = time.perf_counter() - started
        changes.dbt_started = _commands_run(runner) != commands_before
        logger.info("%s", changes.describe())
        if decision.nothing:
            return []
        try:
            _build(runner, call, decision, cmd_params, additional_vars, dataset, full_refresh, source_tests_selector)
        except (DBTProcessingError, DbtCancelled) as exc:
            _annotate(runner, decision, exc)
            raise
        finally:
            if decision.freshness_file is not None and report.steps and runner._recorder is not None:
                runner._recorder.add_file(decision.freshness_file, "sources.json")
        _annotate(runner, decision, None)
    return report.results


def _commands_run(runner: PackageRunner) -> tuple[int, int]:
    """Changes when the decision asked dbt anything (the engine's identity and its command count)."""
    engine = runner.session.engine
    return (id(engine), engine.commands_run) if engine is not None else (0, 0)


def _annotate(runner: PackageRunner, decision: Decision, error: BaseException | None) -> None:
    def why(result: NodeResult) -> NodeResult:
        return dataclasses.replace(result, reason=decision.reasons.get(result.unique_id, decision.default_reason))

    for step in runner.last_report.steps:
        step.results = [why(r) for r in step.results]
    if isinstance(error, DBTProcessingError):
        error.run_results = [why(r) for r in error.run_results]
    elif isinstance(error, DbtCancelled):
        error.results = [why(r) for r in error.results]


def _build(runner: PackageRunner, call: str, decision: Decision, cmd_params: Sequence[str],
           additional_vars: Mapping[str, Any] | None, dataset: str | None, full_refresh: bool,
           source_tests_selector: str | None) -> None:
    selection: list[str] = []
    if decision.selectors is not None:
        selection = ["--select", *decision.selectors]
        if decision.state_dir is not None:
            selection += ["--state", str(decision.state_dir)]
    everything = decision.selectors is None
    extra, project = additional_vars, runner._project
    if call == "build":
        runner._step(["build", *selection, *cmd_params], additional_vars=extra, dataset=dataset,
                     full_refresh=full_refresh)
        return
    if commands.has_package_dependencies(runner.package_dir):
        runner._install_dependencies(extra, dataset)
    if commands.has_seeds(runner.package_dir, project) and (everything or "seed" in decision.kinds):
        runner._step(["seed", *selection], additional_vars=extra, dataset=dataset, full_refresh=full_refresh)
    if source_tests_selector:
        runner._step(["test", "--select", source_tests_selector], additional_vars=extra, dataset=dataset)
    if everything or decision.kinds & {"model", "snapshot"}:
        runner._step(["run", *selection, *cmd_params], additional_vars=extra, dataset=dataset,
                     full_refresh=full_refresh)
    if everything or decision.kinds & {"test", "unit_test"}:
        runner._step(["test", *selection], additional_vars=extra, dataset=dataset)


def _history(runner: PackageRunner, additional_vars: Mapping[str, Any] | None, dataset: str | None) -> History:
    store = store_for(runner)
    if store is None:
        return History(None, why="records are off (records=False)")
    identity = identity_for(runner, additional_vars, dataset, dbt_version=installed_dbt_version(runner.environment))
    return find_history(store, identity)


def decide(runner: PackageRunner, changes: ChangeSummary, scratch: Path, additional_vars: Mapping[str, Any] | None,
           dataset: str | None, always_build: str | None) -> Decision:
    """Compare with the last good run and choose what to build; fills ``changes``.

    When no project file changed since that run, nothing here starts dbt: dlt's load ids and the sources'
    freshness are read with a short read-only connection, and the selection is evaluated on that run's manifest
    (dbt is asked only for what this process cannot do itself; see :mod:`~dbt_kickoff.changed.selection`)."""
    fingerprint = commands.files_fingerprint(runner.package_dir, runner._project)
    history = _history(runner, additional_vars, dataset)
    state: State | None = None
    why = history.why
    if history.baseline is not None:
        changes.baseline = history.baseline.name
        try:
            state = make_state(history, scratch / "state")
        except StateUnusable as exc:
            why = str(exc)
    code_unchanged = state is not None and state.code_unchanged(fingerprint)
    if code_unchanged:
        assert state is not None
        sources = sources_of_manifest(state.manifest)
    else:
        sources = [source_from(s) for s in runner._sources(additional_vars, dataset)]
    dlt, loaded_at = ask_warehouse(runner, sources, state)
    measured = [s for s in sources if s.unique_id not in dlt.checked and s.has_freshness]
    freshness_file: Path | None = None
    left_to_dbt = [s for s in measured if s.unique_id not in loaded_at]
    measured_here = set(loaded_at)
    if left_to_dbt:
        freshness_file, document = dbt_freshness(runner, left_to_dbt, scratch, additional_vars, dataset)
        loaded_at.update({s.unique_id: loaded_at_in(document).get(s.unique_id) for s in left_to_dbt})
    changes.snapshot = {"fingerprint": fingerprint, "dlt": dlt.snapshot,
                        **loaded_at_snapshot(sources, loaded_at, measured_here)}
    source_reasons = dict(dlt.reasons)
    source_reasons.update(freshness_reasons(measured, recorded_loaded_at(state, sources), loaded_at))
    for source in sources:
        if source.unique_id not in dlt.checked and not source.has_freshness:
            source_reasons[source.unique_id] = texts.cannot_check(source.label, "no freshness, not loaded by dlt")
    if state is None:
        changes.full_build_reason = why or "no usable previous run"
        return Decision(default_reason=texts.no_usable_run(changes.full_build_reason), freshness_file=freshness_file)
    criteria = _criteria(state, code_unchanged, sources, source_reasons, always_build)
    decision = Decision(selectors=selectors_of(criteria), freshness_file=freshness_file,
                        state_dir=state.folder if any(c.needs_state for c in criteria) else None)
    if not criteria:
        changes.unchanged = _buildable(state.manifest)
        return decision
    lister = NodeLister(runner, state, code_unchanged, fingerprint, always_build, additional_vars, dataset)
    try:
        chosen = reasons_by_node(criteria, lister.ls)
    except KickoffError as exc:
        changes.full_build_reason = f"dbt could not compare with the last good run ({exc})"
        return Decision(default_reason=texts.no_usable_run(changes.full_build_reason), freshness_file=freshness_file)
    if lister.always_built is not None:
        changes.snapshot["always_build"] = lister.always_built
    decision.reasons = {uid: reason for uid, (reason, _) in chosen.items()}
    decision.kinds = {node.resource_type for _, node in chosen.values()}
    changes.selectors = decision.selectors or []
    for reason in decision.reasons.values():
        changes.reasons[reason] = changes.reasons.get(reason, 0) + 1
    nodes = state.manifest if code_unchanged else current_manifest(runner, dataset) or state.manifest
    changes.unchanged = [uid for uid in _buildable(nodes) if uid not in decision.reasons]
    return decision


def _criteria(state: State, code_unchanged: bool, sources: Sequence[Source], source_reasons: Mapping[str, str],
              always_build: str | None) -> list[Criterion]:
    criteria: list[Criterion] = []
    if not code_unchanged:
        criteria.append(Criterion(texts.CODE_CHANGED, ("state:modified+",), needs_state=True))
    statuses = set(state.rerun.values())
    if "skipped" in statuses:  # first: what a failure skipped is "skipped", not "failed", last time
        criteria.append(Criterion(texts.SKIPPED_LAST_TIME, ("result:skipped+",), needs_state=True))
    failed = tuple(f"result:{status}+" for status in ("error", "fail") if status in statuses)
    if failed:
        criteria.append(Criterion(texts.FAILED_LAST_TIME, failed, needs_state=True))
    changed = [s for s in sources if s.unique_id in source_reasons]
    if changed:
        criteria.append(Criterion("source changed", tuple(s.selector for s in changed), by_source=source_reasons))
    if always_build:
        criteria.append(Criterion(texts.ALWAYS_BUILD, tuple(always_build.split())))
    return criteria


def _buildable(manifest: Mapping[str, Any]) -> list[str]:
    return sorted(uid for uid, node in (manifest.get("nodes") or {}).items()
                  if node.get("resource_type") in BUILT_TYPES) + sorted(manifest.get("unit_tests") or {})


