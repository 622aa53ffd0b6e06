"""``build(changed_only=True)`` / ``run_all(changed_only=True)``: decide what changed, build only that, and say
why each node was built (``NodeResult.reason``) and which were left alone (``last_report.changed``)."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dbt_kickoff.changed import summary as texts
from dbt_kickoff.changed.history import History, find_history
from dbt_kickoff.changed.inputs import InputChanges, input_changes, inputs_now, relations_moved
from dbt_kickoff.changed.listing import NodeLister
from dbt_kickoff.changed.selection import BUILT_TYPES, Criterion, node_selector, reasons_by_node, selectors_of
from dbt_kickoff.changed.snapshot import changed_only_flag
from dbt_kickoff.changed.source_state import (
    ask_warehouse,
    dbt_freshness,
    dbt_row_counts,
    loaded_at_snapshot,
    recorded_loaded_at,
    recorded_row_counts,
)
from dbt_kickoff.changed.sources import (
    Source,
    freshness_reasons,
    loaded_at_in,
    row_count_reasons,
    source_from,
    sources_of_manifest,
)
from dbt_kickoff.changed.state import State, StateUnusable, make_state
from dbt_kickoff.core.call import Call, CallOutcome
from dbt_kickoff.core.invocations import chooses_nodes
from dbt_kickoff.core.plans import run_all_plan, run_plan
from dbt_kickoff.errors import ConfigurationError, DbtCancelled, DBTProcessingError, KickoffError
from dbt_kickoff.records.store import RecordStore
from dbt_kickoff.reports import ChangeSummary
from dbt_kickoff.results import NodeResult

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

    @property
    def selection(self) -> list[str]:
        """The dbt arguments that select what was decided (none: everything)."""
        if self.selectors is None:
            return []
        return ["--select", *self.selectors, *(["--state", str(self.state_dir)] if self.state_dir else [])]


def check_arguments(cmd_params: Sequence[str], full_refresh: bool = False) -> None:
    """A changed-only call chooses the nodes itself: refuse dbt arguments that choose them too, and a full
    refresh (it rebuilds every incremental model from scratch: a full build)."""
    if full_refresh or "--full-refresh" in cmd_params:
        raise ConfigurationError(
            "changed_only=True builds only what changed, full_refresh rebuilds every incremental model from scratch: "
            "for a full refresh call build(full_refresh=True) (or run_all) without changed_only"
        )
    if chooses_nodes(cmd_params):
        raise ConfigurationError(
            "changed_only=True chooses the nodes itself: drop --select/--selector from the dbt arguments (--exclude "
            "is fine), or use always_build= for nodes that must always run"
        )


def build_changed(call: Call, store: RecordStore | None, *, cmd_params: Sequence[str], full_refresh: bool,
                  always_build: str | None, source_tests_selector: str | None = None) -> CallOutcome:
    """See ``PackageRunner.build`` (``changed_only``); ``call.name`` is ``"build"`` or ``"run_all"``."""
    if store is not None and not store.has_flag(changed_only_flag(call.project)):
        store.set_flag(changed_only_flag(call.project))  # from now on full builds measure the sources too
    changes = call.report.changed = ChangeSummary()
    started = time.perf_counter()
    activity = call.dbt_activity()
    try:
        decision = decide(call, store, changes, always_build)
    except KickoffError as exc:
        changes.error = str(exc)
        raise
    finally:
        changes.decision_seconds = time.perf_counter() - started
        changes.dbt_started = call.dbt_activity() != activity
    logger.info("%s", changes.describe())
    if decision.freshness_file is not None:
        call.record_files["sources.json"] = decision.freshness_file
    if decision.nothing:
        return CallOutcome(skipped="nothing changed")
    try:
        if call.name == "build":
            call.step(["build", *decision.selection, *cmd_params], full_refresh=full_refresh)
        else:
            kinds = None if decision.selectors is None else decision.kinds
            run_plan(call, run_all_plan(call.project, run_params=cmd_params, full_refresh=full_refresh,
                                        source_tests_selector=source_tests_selector, selection=decision.selection,
                                        kinds=kinds))
    except (DBTProcessingError, DbtCancelled) as exc:
        _annotate(call, decision, exc)
        raise
    finally:
        if any(step.command == "deps" for step in call.report.steps):  # the packages dbt read from then on
            changes.snapshot["inputs"] = inputs_now(call.project)
    _annotate(call, decision, None)
    return CallOutcome(call.report.results)


def _annotate(call: Call, decision: Decision, error: BaseException | None) -> None:
    def why(result: NodeResult) -> NodeResult:
        return dataclasses.replace(result, reason=decision.reasons.get(result.unique_id, decision.default_reason))

    for step in call.report.steps:
        step.results = [why(r) for r in step.results]
    if isinstance(error, DBTProcessingError):
        error.run_results = [why(r) for r in error.run_results]
    elif isinstance(error, DbtCancelled):
        error.results = [why(r) for r in error.results]


def _history(call: Call, store: RecordStore | None) -> History:
    if store is None:
        return History(None, why="records are off (records=False)")
    return find_history(store, call.identity())


def decide(call: Call, store: RecordStore | None, changes: ChangeSummary, always_build: str | None) -> Decision:
    """Compare with the last good run and choose what to build; fills ``changes``.

    When no project file changed since that run, nothing here starts dbt: dlt's load ids and the sources'
    freshness are read with a short read-only connection, and the selection is evaluated on that run's manifest
    (dbt is asked only for what this process cannot do itself; see :mod:`~dbt_kickoff.changed.selection`)."""
    fingerprint = call.project.fingerprint
    history = _history(call, store)
    state: State | None = None
    why = history.why
    if history.baseline is not None:
        changes.baseline = history.baseline.name
        try:
            state = make_state(history, call.scratch / "state")
        except StateUnusable as exc:
            why = str(exc)
    code_unchanged = state is not None and state.code_unchanged(fingerprint)
    if code_unchanged:
        assert state is not None
        sources = sources_of_manifest(state.manifest)
    else:
        try:
            sources = [source_from(s) for s in call.sources()]
        except DbtCancelled:
            raise
        except KickoffError as exc:
            raise DBTProcessingError("parse", [], f"dbt could not parse the project while deciding what changed "
                                                  f"(nothing was built): {exc}") from None
    reading = ask_warehouse(call, sources, state)
    dlt, loaded_at = reading.dlt, reading.loaded_at
    measured = [s for s in sources if s.unique_id not in dlt.checked and s.has_freshness]
    freshness_file: Path | None = None
    left_to_dbt = [s for s in measured if s.unique_id not in loaded_at]
    measured_here = set(loaded_at)
    if left_to_dbt:
        freshness_file, document = dbt_freshness(call, left_to_dbt)
        loaded_at.update({s.unique_id: loaded_at_in(document).get(s.unique_id) for s in left_to_dbt})
    uncounted = [s for s in measured if reading.rows.get(s.unique_id) is None]
    if uncounted:
        reading.rows.update(dbt_row_counts(call, uncounted))
    inputs = inputs_now(call.project)
    changes.snapshot = {"fingerprint": fingerprint, "inputs": inputs, "dlt": dlt.snapshot,
                        **loaded_at_snapshot(sources, loaded_at, measured_here, reading.rows)}
    source_reasons = dict(dlt.reasons)
    source_reasons.update(row_count_reasons(measured, recorded_row_counts(state), reading.rows))
    source_reasons.update(freshness_reasons(measured, recorded_loaded_at(state, sources), loaded_at))
    for source in sources:
        if source.unique_id not in dlt.checked and not source.has_freshness:
            source_reasons[source.unique_id] = texts.cannot_check(source.label, "no freshness, not loaded by dlt")
    if state is None:
        changes.full_build_reason = why or "no usable previous run"
        return Decision(default_reason=texts.no_usable_run(changes.full_build_reason), freshness_file=freshness_file)
    code_manifest = state.manifest if code_unchanged else call.manifest() or state.manifest
    other_inputs = input_changes(call.project, state.snapshot.get("inputs"), inputs, code_manifest)
    if not code_unchanged:
        for uid, reason in relations_moved(state.manifest, code_manifest).items():
            other_inputs.nodes.setdefault(uid, reason)
    if other_inputs.everything is not None:
        changes.full_build_reason = other_inputs.everything
        return Decision(default_reason=other_inputs.everything, freshness_file=freshness_file)
    criteria = _criteria(state, code_unchanged, sources, source_reasons, always_build)
    criteria += _input_criteria(other_inputs, code_manifest)
    decision = Decision(selectors=selectors_of(criteria), freshness_file=freshness_file,
                        state_dir=state.folder if any(c.needs_state for c in criteria) else None)
    if not criteria:
        changes.unchanged = _buildable(state.manifest)
        return decision
    lister = NodeLister(call, state, code_unchanged, always_build)
    empty: list[Criterion] = []
    try:
        chosen = reasons_by_node(criteria, lister.ls, empty)
    except KickoffError as exc:
        changes.full_build_reason = f"dbt could not compare with the last good run ({exc})"
        return Decision(default_reason=texts.no_usable_run(changes.full_build_reason), freshness_file=freshness_file)
    if lister.always_built is not None:
        changes.snapshot["always_build"] = lister.always_built
    used = [c for c in criteria if c not in empty]  # a selector that matches nothing only makes dbt warn
    decision.selectors = selectors_of(used)
    decision.state_dir = state.folder if any(c.needs_state for c in used) else None
    decision.reasons = {uid: reason for uid, (reason, _) in chosen.items()}
    decision.kinds = {node.resource_type for _, node in chosen.values()}
    changes.selectors = decision.selectors or []
    for reason in decision.reasons.values():
        changes.reasons[reason] = changes.reasons.get(reason, 0) + 1
    changes.unchanged = [uid for uid in _buildable(code_manifest) if uid not in decision.reasons]
    return decision


def _input_criteria(changes: InputChanges, manifest: Mapping[str, Any]) -> list[Criterion]:
    """One criterion per reason: the nodes whose other inputs changed (env vars, large seeds), and downstream."""
    by_reason: dict[str, list[str]] = {}
    nodes = {**(manifest.get("nodes") or {}), **(manifest.get("unit_tests") or {})}
    for uid, reason in changes.nodes.items():
        if uid in nodes:
            by_reason.setdefault(reason, []).append(node_selector(nodes[uid]))
    return [Criterion(reason, tuple(selectors)) for reason, selectors in by_reason.items()]


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


