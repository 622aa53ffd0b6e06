"""The :class:`Call`: what one public runner call knows and does, the seam every feature works through.

A runner opens one ``Call`` per public call (``build``, ``run_all``, ``retry``, a changed-only build...), with
one prologue: a fresh report, the package lock, the package checked again, the project read once. A strategy
(``run_all``, changed-only, retry, transform-loaded) is a function of a ``Call`` that returns a
:class:`CallOutcome`; observers (run records, the sources' snapshot, OpenLineage) are hooks (:class:`CallHooks`).
Nothing outside this module needs the runner's internals.

Hooks: what observes a call plugs in at named points, under one guard.

A hook is any object with some of these methods (subclass :class:`CallHooks` and override what you need):

- ``call_started(call)``: the call holds the package lock and has read the project; no dbt command ran yet.
- ``before_dbt(call)``: just before the call's first dbt command (not called when no dbt command runs).
- ``before_deps(call)``: the call needs the package's dbt packages and they are not installed: a hook may put
  them in place (warm state restores them from the run records store); ``dbt deps`` runs when they are still
  missing afterwards.
- ``step_done(call, step)``: a dbt command of the call finished (its artifacts are still in the target folder).
- ``call_finished(call, error)``: the call ended, however it ended (``error`` is ``None`` on success).

The guard: an observer never fails the run. A hook that raises is reported once, as a warning, and is not called
again during that call; the call goes on and its outcome stands.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from dbt_kickoff.core.invocations import PACKAGE_FREE_COMMANDS, RecordIdentity, command_name
from dbt_kickoff.core.invoker import Invoker
from dbt_kickoff.core.project import Project
from dbt_kickoff.engines import DbtEvent, EventHandler, InvocationOutcome
from dbt_kickoff.engines.artifacts import read_manifest, read_results
from dbt_kickoff.engines.outcomes import raise_for_outcome
from dbt_kickoff.environments.installed import installed_dbt_version
from dbt_kickoff.errors import DbtCancelled, DBTProcessingError, IncrementalSchemaOutOfSyncError
from dbt_kickoff.profiles import Profile
from dbt_kickoff.redaction import Redactor
from dbt_kickoff.reports import RunReport, StepReport
from dbt_kickoff.results import NodeResult

logger = logging.getLogger("dbt_kickoff")

RESULT_LINES = frozenset({
    "LogModelResult", "LogTestResult", "LogSeedResult", "LogSnapshotResult", "LogFreshnessResult", "LogNodeResult",
    "LogNodeNoOpResult", "LogFunctionResult", "RunResultFailure", "RunResultError", "RunResultErrorMessage",
    "RunResultWarning", "RunResultWarningMessage", "EndOfRunSummary",
})
"""dbt's log lines that repeat what the node results carry: relayed at INFO, not as errors."""


HOOK_POINTS = ("call_started", "before_dbt", "before_deps", "step_done", "call_finished")


class CallHooks:
    """An observer of calls; every point does nothing unless overridden. ``name`` appears in the warning a
    failing hook leaves."""

    name = "hook"

    def call_started(self, call: Call) -> None:
        """The call started (lock held, project read), before any dbt command."""

    def before_dbt(self, call: Call) -> None:
        """The call is about to run its first dbt command."""

    def before_deps(self, call: Call) -> None:
        """The call needs the package's dbt packages and they are not installed (``dbt deps`` comes next unless
        a hook installs them)."""

    def step_done(self, call: Call, step: StepReport) -> None:
        """A dbt command of the call finished."""

    def call_finished(self, call: Call, error: BaseException | None) -> None:
        """The call ended (``error`` is what it raised, ``None`` on success)."""


class HookRunner:
    """Calls the hooks of one call in order, each under the guard (see the module docstring)."""

    def __init__(self, hooks: Iterable[Any], redact: Callable[[str], str]) -> None:
        self.hooks = list(hooks)
        self.redact = redact
        self._failed: set[int] = set()

    def __call__(self, point: str, *args: Any) -> None:
        for index, hook in enumerate(self.hooks):
            method = getattr(hook, point, None)
            if method is None or index in self._failed:
                continue
            try:
                method(*args)
            except Exception as exc:
                self._failed.add(index)
                name = getattr(hook, "name", type(hook).__name__)
                logger.warning("the %s could not do its work (the run itself is not affected): %s", name,
                               self.redact(f"{type(exc).__name__}: {exc}"))


@dataclass
class CallOutcome:
    """What a strategy did: the node results, and why dbt did not run when it did not (``skipped``:
    ``"nothing loaded"``, ``"nothing changed"``...)."""

    results: list[NodeResult] = field(default_factory=list)
    skipped: str | None = None


class CallResults(list[NodeResult]):
    """The node results a public runner call returns: a list, plus ``skipped`` (why dbt did not run, when it
    did not: ``"nothing loaded"``, ``"no source reads the loaded tables"``, ``"nothing changed"``...)."""

    skipped: str | None = None

    @classmethod
    def of(cls, outcome: CallOutcome) -> CallResults:
        results = cls(outcome.results)
        results.skipped = outcome.skipped
        return results


@dataclass(frozen=True)
class CallContext:
    """Who ran what, without secrets: what a run record says about the call."""

    package_location: str
    project_dir: Path
    project_name: str
    commit_sha: str | None
    dbt_version: str | None
    adapter_type: str | None
    destination: dict[str, Any]
    runner_options: dict[str, Any]
    target_dir: Path


class Call:
    """One public runner call (see the module docstring). Made by the runner; strategies and hooks use it.

    ``name`` is the public method (``"build"``, ``"run_all"``...), ``params`` its arguments; ``dataset`` and
    ``additional_vars`` apply to every dbt command of the call. ``record_extras`` (fields) and ``record_files``
    (name -> local file) are what strategies and hooks add to the call's run record.
    """

    def __init__(self, name: str, params: Mapping[str, Any], *, project: Project, invoker: Invoker,
                 report: RunReport, hooks: HookRunner, on_event: EventHandler | None = None,
                 dataset: str | None = None, additional_vars: Mapping[str, Any] | None = None) -> None:
        self.name = name
        self.params = dict(params)
        self.project = project
        self.report = report
        self.dataset = dataset
        self.additional_vars = dict(additional_vars) if additional_vars else None
        self.record_extras: dict[str, Any] = {}
        self.record_files: dict[str, Path] = {}
        self.running: list[str] = []
        """The nodes a cancel interrupted (set when the call finished)."""
        self.record_folder: Path | None = None
        """The call's finished run record as a local folder, once the records hook wrote it."""
        self.record_data: dict[str, Any] | None = None
        """That record's ``report.json``."""
        self.started_at = report.started_at or datetime.now(timezone.utc)
        self._invoker = invoker
        self._hooks = hooks
        self._on_event = on_event
        self._scratch: Path | None = None
        self._dbt_announced = False
        self._dependencies_ready = False

    # -- what the call knows ----------------------------------------------------------------------------------
    @property
    def redact(self) -> Redactor:
        """Masks the secrets of this runner (destination, git token) and any URL password or secret pair."""
        return self._invoker.redact

    @property
    def profile(self) -> Profile | None:
        """The destination's profile (``None``: the package's own profiles.yml)."""
        return self._invoker.profile

    @property
    def cancelled(self) -> str | None:
        """Why the call was asked to stop, or ``None``."""
        return self._invoker.session.cancel_reason

    @property
    def dbt_version(self) -> str | None:
        """The dbt version of the runner's engine once it ran (``None`` before)."""
        return self._invoker.session.dbt_version

    @property
    def target_dir(self) -> Path:
        """Where the call's dbt commands write their artifacts and parse state."""
        return self._invoker.target_path(self.project, self.dataset)

    @property
    def variables(self) -> dict[str, Any]:
        """The vars every dbt command of the call receives (``source_dataset_name``... and the caller's)."""
        return self._invoker.variables(self.dataset, self.additional_vars)

    @property
    def context(self) -> CallContext:
        """The call's context without secrets (the dbt version is the engine's once dbt ran)."""
        project = self.project
        return CallContext(
            package_location=project.location, project_dir=project.dir, project_name=project.name,
            commit_sha=project.commit_sha, dbt_version=self.dbt_version,
            adapter_type=self.profile.adapter_type if self.profile else None,
            destination=self._invoker.destination(), runner_options=self._invoker.options.recorded(),
            target_dir=self.target_dir,
        )

    @property
    def scratch(self) -> Path:
        """A private folder for this call's own files, removed when the call ends."""
        if self._scratch is None:
            self._scratch = Path(tempfile.mkdtemp(prefix=f"dbt-kickoff-{self.name}-"))
        return self._scratch

    def identity(self, *, start_dbt: bool = True) -> RecordIdentity:
        """Which package, target, vars and dbt version this call belongs to (what run records are found by).
        Starts dbt to learn its version when neither the engine nor the environment can tell it (unless
        ``start_dbt`` is false: the version is then ``None``)."""
        version = self.dbt_version or installed_dbt_version(self._invoker.environment)
        if version is None and start_dbt:
            self._invoker.session.start(self.project.dir)
            version = self.dbt_version
        return self._invoker.identity(self.project, dataset=self.dataset, additional_vars=self.additional_vars,
                                      dbt_version=version)

    def location(self) -> dict[str, Any]:
        """What identifies the database the call writes to, without secrets: the profile's fields (see
        :func:`~dbt_kickoff.profiles.location.location_of`), or the target the package's own profiles.yml selects."""
        return self._invoker.location(self.project)

    def manifest(self) -> dict[str, Any] | None:
        """The ``manifest.json`` dbt last left in the call's target folder, or ``None``."""
        return read_manifest(self.target_dir)

    def dbt_activity(self) -> tuple[int, int]:
        """Changes whenever the runner's dbt engine runs a command (its identity and command count)."""
        engine = self._invoker.session.engine
        return (id(engine), engine.commands_run) if engine is not None else (0, 0)

    # -- dbt commands -----------------------------------------------------------------------------------------
    def step(self, command: Sequence[str], *, full_refresh: bool = False) -> list[NodeResult]:
        """Run one dbt command as a step of the call (it lands in the report and the record). An incremental
        model out of sync with its table is retried with ``--full-refresh`` when the runner allows it."""
        try:
            return self._execute(command, full_refresh=full_refresh)
        except IncrementalSchemaOutOfSyncError:
            allowed = self._invoker.options.auto_full_refresh_when_out_of_sync
            if not allowed or full_refresh or command[0] not in {"run", "build"}:
                raise
            logger.warning(
                "an incremental model's schema is out of sync with its table: running dbt %s again with "
                "--full-refresh (pass auto_full_refresh_when_out_of_sync=False to fail instead)", command[0]
            )
            failed_attempt = self.report.steps.pop()
            results = self._execute(command, full_refresh=True)
            retry = self.report.steps[-1]
            retry.full_refresh_retry = True
            retry.duration += failed_attempt.duration
            return results

    def quiet(self, command: Sequence[str], on_event: EventHandler | None = None) -> InvocationOutcome:
        """A dbt command that helps a decision (``ls``, ``source freshness``) and is no step of the call: it
        leaves no step in the report, and its events go to ``on_event`` only."""
        name = command_name(command)
        self.raise_if_cancelled(name)
        self._prepare(command)
        invocation = self._invoker.invocation(self.project, command, dataset=self.dataset,
                                              additional_vars=self.additional_vars)
        outcome = self._invoker.execute(self.project, invocation, on_event or (lambda event: None))
        self.raise_if_cancelled(name)
        return outcome

    def query(self, sql: str) -> list[dict[str, Any]] | None:
        """Rows of ``sql`` asked of dbt (``dbt show --inline``: any adapter, the call's profile and vars), or
        ``None`` when dbt could not answer. For a decision's small queries (row counts...)."""
        shown: list[str] = []

        def collect(event: DbtEvent) -> None:
            if event.name == "ShowNode" and event.message:
                shown.append(event.message)

        outcome = self.quiet(["show", "--inline", sql, "--output", "json", "--limit", "-1"], on_event=collect)
        if not outcome.success or not shown:
            logger.info("dbt could not answer a query: %s", self.redact(outcome.error or "no output"))
            return None
        try:
            rows = json.loads(shown[-1]).get("show")
        except (ValueError, AttributeError):
            return None
        return [dict(row) for row in rows] if isinstance(rows, list) else None

    def sources(self) -> list[dict[str, Any]]:
        """The package's dbt sources as the parsed manifest resolves them (see ``PackageRunner.sources``)."""
        self.raise_if_cancelled("parse", [])
        self._prepare(["parse"])
        return self._invoker.sources(self.project, dataset=self.dataset, additional_vars=self.additional_vars,
                                     on_event=self._relay)

    def install_dependencies(self) -> None:
        """Put the package's dbt packages in place, once per call (every dbt command that needs them asks):
        nothing when the packages ``dbt deps`` installed last time (in any process) are unchanged and still
        there, else what a ``before_deps`` hook restores (warm state), else ``dbt deps``. ``report.packages``
        says which: ``"up to date"``, ``"restored"`` or ``"installed"``."""
        if self._dependencies_ready:
            return
        self._dependencies_ready = True
        if self.project.dependencies_installed():
            logger.debug("dbt deps skipped: the installed packages match packages.yml / package-lock.yml")
            self.report.packages = "up to date"
            return
        self._hooks("before_deps", self)
        if self.project.dependencies_installed():
            self.project.files_changed()
            self.report.packages = "restored"
            return
        self.step(["deps"])
        self.project.remember_dependencies()
        self.project.files_changed()
        self.report.packages = "installed"

    def raise_if_cancelled(self, command: str, results: list[NodeResult] | None = None) -> None:
        """A cancel that came between two steps (or as a step ended) stops the call before the next one."""
        reason = self.cancelled
        if reason is not None:
            raise DbtCancelled(f"dbt {command} was stopped ({reason})",
                               results=self.report.results if results is None else results, reason=reason,
                               command=command)

    # -- life cycle (the runner's) --------------------------------------------------------------------------------
    def start(self) -> None:
        """Tell the hooks the call started."""
        self._hooks("call_started", self)

    def finish(self, error: BaseException | None) -> None:
        """Settle the report (outcome, error, end time; a step a cancel interrupted) and tell the hooks."""
        report = self.report
        report.outcome = outcome_of(error)
        report.error = self.redact(str(error)) if error is not None else None
        report.finished_at = datetime.now(timezone.utc)
        self.running = _note_cancelled_step(report, error)
        self._hooks("call_finished", self, error)

    def close(self) -> None:
        """Remove the call's scratch folder."""
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    # -- internals ----------------------------------------------------------------------------------------------
    def _prepare(self, command: Sequence[str]) -> None:
        """Before each dbt command: the hooks told before the first one, and the package's dbt packages put in
        place (once) when the command needs them."""
        if not self._dbt_announced:
            self._dbt_announced = True
            self._hooks("before_dbt", self)
        if command[0] not in PACKAGE_FREE_COMMANDS and self.project.has_package_dependencies:
            self.install_dependencies()

    def _execute(self, command: Sequence[str], *, full_refresh: bool) -> list[NodeResult]:
        project = self.project
        name = command_name(command)
        earlier = self.report.results
        self.raise_if_cancelled(name, earlier)
        self._prepare(command)
        invocation = self._invoker.invocation(project, command, dataset=self.dataset,
                                              additional_vars=self.additional_vars, full_refresh=full_refresh)
        logger.info("dbt %s in %s", name, project.location)
        started = time.perf_counter()
        started_at = datetime.now(timezone.utc)
        outcome = self._invoker.execute(project, invocation, self._relay)
        target = invocation.target_dir or self.target_dir
        results = read_results(command, target, outcome)
        step = StepReport(command=name, results=results, duration=time.perf_counter() - started,
                          warnings=outcome.warnings, parsed=outcome.parsed or not invocation.manifest_key,
                          nothing_selected=outcome.nothing_selected and not results,
                          args=[self.redact(a) for a in invocation.args], invocation_id=outcome.invocation_id,
                          started_at=started_at, success=outcome.success, target_dir=target)
        self.report.add(step)
        self._hooks("step_done", self, step)
        if outcome.nothing_selected and not results:
            logger.warning("dbt %s: the selection matched no nodes; nothing was run", name)
        raise_for_outcome(name, results, outcome, earlier, project.dir)
        self.raise_if_cancelled(name, self.report.results)
        return results

    def _relay(self, event: DbtEvent) -> None:
        """dbt's live events: its log lines to the ``dbt_kickoff`` logger, then to the runner's ``on_event``. Lines
        that repeat what the node results carry (a node's result line, the end-of-run summary of each failure) go
        at INFO, dbt's connection clean-up under --fail-fast ("CANCEL query <node>", for nodes that succeeded too)
        at DEBUG: a failure is told once, by the results and the raised error."""
        if event.finished and event.node is not None:
            node = event.node
            logger.info("%s %s: %s (%.2fs)", node.resource_type, node.name, node.status, node.execution_time or 0.0)
        elif event.name == "LogCancelLine":
            logger.debug("dbt: %s", event.message)
        elif event.message and event.name in RESULT_LINES:
            logger.info("dbt: %s", event.message)
        elif event.level == "error" and event.message:
            logger.error("dbt: %s", event.message)
        elif event.level == "warn" and event.message:
            logger.warning("dbt: %s", event.message)
        if self._on_event is not None:
            self._on_event(event)


def outcome_of(error: BaseException | None) -> str:
    """``"success"``, ``"failed"`` (dbt reported failures), ``"cancelled"``, ``"timeout"`` or ``"error"``."""
    if error is None:
        return "success"
    if isinstance(error, DbtCancelled):
        return "timeout" if "timed out" in str(error) else "cancelled"
    if isinstance(error, KeyboardInterrupt):
        return "cancelled"
    if isinstance(error, DBTProcessingError):
        return "failed"
    return "error"


def _note_cancelled_step(report: RunReport, error: BaseException | None) -> list[str]:
    """A step stopped before the engine could report it (an exception in the waiting thread): add its report with
    the nodes it finished; return those still running."""
    if not isinstance(error, DbtCancelled):
        return []
    last = report.steps[-1] if report.steps else None
    if last is not None and last.command == error.command and last.success is False:
        return list(error.running)  # the step was reported when dbt stopped
    known = {r.unique_id for r in report.results}
    finished = [r for r in error.results if r.unique_id not in known]
    if finished or error.running:
        report.steps.append(StepReport(command=error.command or "cancelled", results=finished, duration=0.0,
                                       success=False))
    return list(error.running)
