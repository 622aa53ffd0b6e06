"""``PackageRunner``: the facade of the Core runner. Each public call opens one :class:`~dbt_kickoff.core.call.Call`
(report, package lock, package checked again, project read once), installs the default hooks (run records, the
sources' snapshot, OpenLineage) and the caller's, and hands the call to a strategy."""

from __future__ import annotations

import hashlib
import logging
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dbt_kickoff.changed.snapshot import SourcesSnapshot
from dbt_kickoff.core import strategies
from dbt_kickoff.core.call import Call, CallHooks, CallOutcome, CallResults, HookRunner
from dbt_kickoff.core.invocations import RecordIdentity, selector_args
from dbt_kickoff.core.invoker import Invoker, RunnerOptions
from dbt_kickoff.core.options import CORE_OPTIONS
from dbt_kickoff.core.project import Project
from dbt_kickoff.engines import DbtSession, EventHandler
from dbt_kickoff.engines.artifacts import read_manifest
from dbt_kickoff.engines.session import RecyclePolicy
from dbt_kickoff.environments import DbtEnvironment, resolve_environment
from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.lineage import lineage_configured
from dbt_kickoff.loaded import loaded_tables
from dbt_kickoff.locks import held
from dbt_kickoff.profiles import Profile, resolve_destination
from dbt_kickoff.records.hook import RecordsHook
from dbt_kickoff.records.recorder import RecordSettings
from dbt_kickoff.records.store import RecordStore
from dbt_kickoff.redaction import Redactor
from dbt_kickoff.reports import RunReport, StepReport
from dbt_kickoff.sources import LocalSource, PackageSource, ResolvedPackage, open_source
from dbt_kickoff.validation import unchecked, validated, validated_methods

if TYPE_CHECKING:
    pass

logger = logging.getLogger("dbt_kickoff")


__all__ = ["PackageRunner", "RunReport", "StepReport", "package"]


def _lock_path(project_dir: Path) -> Path:
    import platformdirs  # imported when first needed: a task process starts faster

    key = hashlib.sha256(str(project_dir).encode()).hexdigest()[:20]
    folder = Path(platformdirs.user_cache_dir("dbt-kickoff")) / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{key}.lock"


Strategy = Callable[[Call], CallOutcome]


@validated_methods(CORE_OPTIONS)
class PackageRunner:
    """Runs dbt commands on one dbt package against one destination.

    Create it with :func:`dbt_kickoff.package`. All commands of a runner share one warm dbt process (dbt is
    imported once); close the runner (or use it as a context manager) to stop that process and remove the
    generated profiles. Two runners on the same package folder are serialized by a file lock. ``hooks``
    observe every call (see :mod:`dbt_kickoff.core.call`); append to it to add your own.
    """

    def __init__(
        self,
        *,
        source: PackageSource,
        profile: Profile | None,
        environment: DbtEnvironment,
        dataset_name: str | None = None,
        source_dataset_name: str | None = None,
        profiles_dir: Path | None = None,
        profile_name: str | None = None,
        target: str | None = None,
        threads: int | None = None,
        auto_full_refresh_when_out_of_sync: bool = True,
        command_timeout: float | None = None,
        on_event: EventHandler | None = None,
        reuse_manifest: bool = True,
        recycle_after_commands: int | None = None,
        recycle_above_memory_mb: float | None = None,
        cancel_grace: float = 10.0,
        destination_factory: Callable[[], Profile | None] | None = None,
        record_settings: RecordSettings | None = None,
        secrets: Sequence[str | None] = (),
        always_build: str | None = None,
        hooks: Sequence[CallHooks] = (),
        row_counts: bool = False,
        warm_state: bool = True,
    ) -> None:
        self.source = source
        self.environment = environment
        self.options = RunnerOptions(
            dataset_name=dataset_name,
            source_dataset_name=source_dataset_name or (profile.source_dataset_name if profile else None),
            profiles_dir=profiles_dir, profile_name=profile_name, target=target, threads=threads,
            command_timeout=command_timeout, reuse_manifest=reuse_manifest,
            auto_full_refresh_when_out_of_sync=auto_full_refresh_when_out_of_sync, always_build=always_build,
        )
        """What the runner was configured with (see :func:`dbt_kickoff.package`)."""
        self.on_event = on_event
        self.last_report = RunReport()
        """What the last call did, step by step (outcome, commit, record, changed-only decision)."""
        self.record_settings = record_settings or RecordSettings()
        self.row_counts = row_counts
        """Fill ``rows_affected`` of the models whose adapter reports none (one ``count(*)`` per model)."""
        self.warm_state = warm_state
        """Keep dbt's parse state and installed packages in the records store (see :mod:`dbt_kickoff.warm`)."""
        self.hooks: list[CallHooks] = list(hooks)
        """The caller's observers of every call, after the runner's own (records, sources' snapshot, lineage)."""
        redact = Redactor([*(profile.secret_env.values() if profile else ()), *secrets])
        self.session = DbtSession(
            environment, env=dict(profile.secret_env) if profile else {}, redact=redact,
            recycle=RecyclePolicy(recycle_after_commands, recycle_above_memory_mb), cancel_grace=cancel_grace,
        )
        """The runner's dbt engine and generated profiles (see :class:`~dbt_kickoff.engines.DbtSession`)."""
        self._invoker = Invoker(session=self.session, environment=environment, profile=profile,
                                options=self.options, redact=redact, destination_factory=destination_factory)
        self._package: ResolvedPackage | None = None
        weakref.finalize(self, self.session.release)

    # -- what the runner knows ----------------------------------------------------------------------------------
    @property
    def profile(self) -> Profile | None:
        """The destination's dbt profile (secrets as ``env_var()`` references), ``None`` for profiles.yml."""
        return self._invoker.profile

    @property
    def dataset_name(self) -> str | None:
        return self.options.dataset_name

    @property
    def source_dataset_name(self) -> str | None:
        return self.options.source_dataset_name

    @property
    def always_build(self) -> str | None:
        """A dbt selector of models every changed-only call builds (non-deterministic ones: ``current_date``...)."""
        return self.options.always_build

    @property
    def package_dir(self) -> Path:
        return self._resolved().project_dir

    @property
    def package(self) -> ResolvedPackage:
        """The package in use: its folder, where it came from, its commit."""
        return self._resolved()

    @property
    def commit_sha(self) -> str | None:
        """The commit of the package in use (git packages), else ``None``."""
        return self._resolved().commit_sha

    @property
    def dbt_version(self) -> str | None:
        return self.session.dbt_version

    def target_path(self, destination_dataset_name: str | None = None) -> Path:
        """Where dbt writes this runner's artifacts (``manifest.json``, ``run_results.json``...) and its parse
        state for a destination dataset: a folder per profile and dataset under the project's target path
        (``target/<dataset>-<hash>``), so switching datasets keeps each one's partial parsing warm."""
        return self._invoker.target_path(Project(self._resolved()), destination_dataset_name)

    def records_store(self) -> RecordStore | None:
        """Where this runner's records go (``None`` with ``records=False``)."""
        return RecordsHook(self.record_settings).store(Project(self._resolved()))

    def record_identity(self, additional_vars: Mapping[str, Any] | None = None,
                        destination_dataset_name: str | None = None) -> RecordIdentity:
        """The identity a call with these vars and dataset records: its ``state_key`` finds the last good run
        to compare with (:func:`dbt_kickoff.records.last_successful_record`). May start dbt to learn its version."""
        call = self._call("record_identity", {}, Project(self._resolved()), RunReport(),
                          dataset=destination_dataset_name, additional_vars=additional_vars, hooks=[])
        return call.identity()

    # -- control ------------------------------------------------------------------------------------------------
    def cancel(self, reason: str = "cancelled") -> None:
        """Stop the dbt command running now and every later step of the same call.

        Safe from any thread and from a signal handler; returns at once. dbt gets SIGINT (the adapter cancels
        its open queries), then a grace period (``cancel_grace``), then a kill; calling it twice kills at once.
        The waiting call raises :class:`~dbt_kickoff.DbtCancelled` with the results of the nodes that finished
        and the names of those that were running. Nothing happens when no call is running.
        """
        self.session.cancel(reason)

    def ensure_newest_package(self) -> ResolvedPackage:
        """Clone the package, or move it to the newest commit of the requested ref (a local folder: re-check)."""
        self._package = self.source.ensure_newest()
        return self._package

    def close(self) -> None:
        """Stop the dbt process (a running command is cancelled first: SIGINT, grace, kill) and remove the
        generated profiles. The runner can be used again afterwards."""
        self.session.release()

    def __enter__(self) -> PackageRunner:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = self._package.location if self._package else "(not resolved yet)"
        dest = self.profile.destination_type if self.profile else "package profiles.yml"
        return f"PackageRunner(package={where!r}, destination={dest!r}, environment={self.environment.description!r})"

    # -- calls --------------------------------------------------------------------------------------------------
    def run_all(
        self,
        run_params: Sequence[str] | None = ("--fail-fast",),
        additional_vars: Mapping[str, Any] | None = None,
        source_tests_selector: str | None = None,
        destination_dataset_name: str | None = None,
        full_refresh: bool = False,
        changed_only: bool = False,
        always_build: str | None = None,
    ) -> CallResults:
        """deps (when the package has packages), seed, source tests (when a selector is given), run, test.

        Stops at the first failing step with :class:`DBTProcessingError`. Returns the node results of every
        step, in order (``last_report`` has them per step). ``changed_only``: seed, run and test only what
        changed since the last good run (see :meth:`build`).
        """
        params = {"run_params": run_params, "additional_vars": additional_vars,
                  "source_tests_selector": source_tests_selector, "destination_dataset_name": destination_dataset_name,
                  "full_refresh": full_refresh, "changed_only": changed_only, "always_build": always_build}
        if changed_only:
            from dbt_kickoff.changed.run import build_changed, check_arguments  # the decision, when asked for

            check_arguments(run_params or (), full_refresh)

            def strategy(call: Call) -> CallOutcome:
                return build_changed(call, self.records_store(), cmd_params=run_params or (),
                                     full_refresh=full_refresh, always_build=always_build or self.always_build,
                                     source_tests_selector=source_tests_selector)
        else:
            def strategy(call: Call) -> CallOutcome:
                return strategies.run_all(call, run_params=run_params or (),
                                          source_tests_selector=source_tests_selector, full_refresh=full_refresh)
        return self._perform("run_all", params, strategy, dataset=destination_dataset_name,
                             additional_vars=additional_vars, fetch=True)

    def run(self, cmd_params: Sequence[str] = (), additional_vars: Mapping[str, Any] | None = None,
            destination_dataset_name: str | None = None, full_refresh: bool = False) -> CallResults:
        """``dbt run``; an incremental model out of sync is retried with ``--full-refresh`` when allowed."""
        return self._single("run", ["run", *cmd_params], locals())

    def build(self, cmd_params: Sequence[str] = (), additional_vars: Mapping[str, Any] | None = None,
              destination_dataset_name: str | None = None, full_refresh: bool = False, changed_only: bool = False,
              always_build: str | None = None) -> CallResults:
        """``dbt build`` (seeds, models, snapshots and tests in DAG order).

        ``changed_only``: build only what changed since the last good run of the same package, target, vars and
        dbt version (its run record is dbt's ``--state``): changed code, config, macros and seeds
        (``state:modified+``), what is downstream of sources that received data (freshness, dlt loads), what
        failed or was skipped since, and ``always_build`` (a dbt selector; default: the runner's). Everything is
        built when there is no usable record. Each result's ``reason`` says why it was built, and
        ``last_report.changed`` what was decided (see the README, "Build only what changed").
        """
        if not changed_only:
            return self._single("build", ["build", *cmd_params], locals())
        from dbt_kickoff.changed.run import build_changed, check_arguments  # the decision, when asked for

        check_arguments(cmd_params, full_refresh)
        params = {"cmd_params": cmd_params, "additional_vars": additional_vars,
                  "destination_dataset_name": destination_dataset_name, "full_refresh": full_refresh,
                  "changed_only": changed_only, "always_build": always_build}

        def strategy(call: Call) -> CallOutcome:
            return build_changed(call, self.records_store(), cmd_params=cmd_params, full_refresh=full_refresh,
                                 always_build=always_build or self.always_build)

        return self._perform("build", params, strategy, dataset=destination_dataset_name,
                             additional_vars=additional_vars)

    def test(self, cmd_params: Sequence[str] = (), additional_vars: Mapping[str, Any] | None = None,
             destination_dataset_name: str | None = None) -> CallResults:
        """``dbt test``."""
        return self._single("test", ["test", *cmd_params], locals())

    def seed(self, cmd_params: Sequence[str] = (), additional_vars: Mapping[str, Any] | None = None,
             destination_dataset_name: str | None = None, full_refresh: bool = False) -> CallResults:
        """``dbt seed``."""
        return self._single("seed", ["seed", *cmd_params], locals())

    def snapshot(self, cmd_params: Sequence[str] = (), additional_vars: Mapping[str, Any] | None = None,
                 destination_dataset_name: str | None = None) -> CallResults:
        """``dbt snapshot``."""
        return self._single("snapshot", ["snapshot", *cmd_params], locals())

    def source_freshness(self, cmd_params: Sequence[str] = (), additional_vars: Mapping[str, Any] | None = None,
                         destination_dataset_name: str | None = None) -> CallResults:
        """``dbt source freshness`` (results from sources.json)."""
        return self._single("source_freshness", ["source", "freshness", *cmd_params], locals())

    def deps(self) -> CallResults:
        """``dbt deps``: install the packages in packages.yml / dependencies.yml."""
        return self._single("deps", ["deps"], {})

    def invoke(self, args: Sequence[str], additional_vars: Mapping[str, Any] | None = None) -> CallResults:
        """Any other dbt command, e.g. ``invoke(["ls", "--select", "tag:daily"])``."""
        if not args:
            raise ConfigurationError("invoke() needs a dbt command, e.g. ['compile']")
        return self._single("invoke", list(args), {"args": args, "additional_vars": additional_vars})

    def sources(self, additional_vars: Mapping[str, Any] | None = None,
                destination_dataset_name: str | None = None) -> list[dict[str, Any]]:
        """The package's dbt sources as the parsed manifest resolves them: ``unique_id``, ``source_name``,
        ``name``, ``schema``, ``identifier``, ``database``, ``relation_name`` and the freshness settings
        (``loaded_at_field``, ``loaded_at_query``, ``freshness``); a warm runner answers from its cached manifest."""
        with self._locked():
            project = Project(self._check_package())
            call = self._call("sources", {}, project, RunReport(), dataset=destination_dataset_name,
                              additional_vars=additional_vars, hooks=[])
            return call.sources()

    def manifest(self, additional_vars: Mapping[str, Any] | None = None,
                 destination_dataset_name: str | None = None) -> dict[str, Any]:
        """dbt's parsed manifest of the package as its files are now, for an orchestrator's definitions: the one
        dbt wrote for these files, profile, vars and dbt version (in the target folder, or published to the
        records store by any machine), read without starting dbt; ``dbt parse`` makes it when there is none."""
        if self.warm_state and self.record_settings.enabled:
            from dbt_kickoff.warm import current_manifest

            with self._locked():
                project = Project(self._check_package())
                call = self._call("manifest", {}, project, RunReport(), dataset=destination_dataset_name,
                                  additional_vars=additional_vars, hooks=[])
                found = current_manifest(call, self.records_store)
            if found is not None:
                return found
        params = {"args": ["parse"], "additional_vars": additional_vars,
                  "destination_dataset_name": destination_dataset_name}
        self._single("invoke", ["parse"], params)
        parsed = read_manifest(self.target_path(destination_dataset_name))
        if parsed is None:
            raise ConfigurationError(f"dbt parse left no manifest.json in {self.target_path(destination_dataset_name)}")
        return parsed

    def transform_loaded(
        self,
        loaded: Any,
        *,
        command: str = "build",
        cmd_params: Sequence[str] = (),
        additional_vars: Mapping[str, Any] | None = None,
        destination_dataset_name: str | None = None,
        include_dlt_tables: bool = False,
    ) -> CallResults:
        """Run ``command`` (build by default, so tests come along) only on the models downstream of the dbt
        sources that read what ``loaded`` wrote: a dlt ``LoadInfo`` or ``"schema.table"`` names.

        When nothing was loaded, or no source reads the loaded tables, dbt is not started at all and the
        result is empty. A ``LoadInfo`` with failed jobs raises :class:`~dbt_kickoff.loaded.LoadFailed`.
        """
        params = {"loaded": loaded, "command": command, "cmd_params": cmd_params, "additional_vars": additional_vars,
                  "destination_dataset_name": destination_dataset_name, "include_dlt_tables": include_dlt_tables}
        tables = loaded_tables(loaded, default_schema=self.source_dataset_name, include_dlt_tables=include_dlt_tables)
        if not tables:
            logger.info("nothing was loaded: dbt is not run")
            self.last_report = RunReport(call="transform_loaded", started_at=datetime.now(timezone.utc))
            self.last_report.outcome, self.last_report.finished_at = "success", self.last_report.started_at
            return CallResults.of(CallOutcome(skipped="nothing loaded"))
        return self._perform(
            "transform_loaded", params,
            lambda call: strategies.transform_loaded(call, tables, command=command, cmd_params=cmd_params),
            dataset=destination_dataset_name, additional_vars=additional_vars)

    def retry(self, record: Any = None, destination_dataset_name: str | None = None,
              select: str | Sequence[str] | None = None, exclude: str | Sequence[str] | None = None) -> CallResults:
        """Rerun only what the last recorded call of this package left failed, skipped or undone (dbt's
        ``retry``; for ``run_all`` also the steps that never ran). ``record``: a :class:`~dbt_kickoff.records.Record`,
        a record folder/URL, or ``None`` for the last record of this package and target (its database and
        dataset: the runner's, or ``destination_dataset_name``). After a successful run it does nothing (a log
        line says so) and returns ``[]``. A record of another package, database or dbt version raises
        :class:`ConfigurationError`.

        ``select`` / ``exclude`` (dbt selectors): rerun exactly those nodes instead, with ``dbt build`` (whatever
        the record says of them: a model whose SQL was fixed, and what reads it), as a link of the record's
        retry chain: the new record's ``retry.merged`` holds every node's latest result across the chain, and
        ``retry.pending`` what the chain still has to finish."""
        project = Project(self._resolved())
        identity = self._call("retry", {}, project, RunReport(), dataset=destination_dataset_name,
                              additional_vars=None, hooks=[]).identity(start_dbt=False)
        from dbt_kickoff.records.retry_run import record_to_retry, retry, retry_selected

        previous = record_to_retry(self.record_settings, self.records_store(), project, record, identity)
        params = previous.data.get("params") or {}
        call_params: dict[str, Any] = {"record": previous.uri}
        chosen = selector_args(select, exclude)
        if chosen:
            call_params.update(select=select, exclude=exclude)

        def strategy(call: Call) -> CallOutcome:
            return retry_selected(call, previous, chosen) if chosen else retry(call, previous)

        return self._perform("retry", call_params, strategy, dataset=params.get("destination_dataset_name"),
                             additional_vars=params.get("additional_vars"))

    # -- internals ----------------------------------------------------------------------------------------------
    def _single(self, name: str, command: list[str], arguments: Mapping[str, Any]) -> CallResults:
        """One dbt command as a call of its own (``arguments``: the public method's, as recorded)."""
        params = {key: value for key, value in arguments.items() if key != "self"}
        full_refresh = bool(params.get("full_refresh"))
        return self._perform(name, params, lambda call: strategies.single(call, command, full_refresh=full_refresh),
                             dataset=params.get("destination_dataset_name"),
                             additional_vars=params.get("additional_vars"))

    def _perform(self, name: str, params: Mapping[str, Any], strategy: Strategy, *, dataset: str | None,
                 additional_vars: Mapping[str, Any] | None, fetch: bool = False) -> CallResults:
        """The prologue every call shares: a new report, the package lock, the package checked again (fetched
        for ``run_all``), the project read once, the hooks told; then the strategy; then the hooks told how the
        call ended, however it ended."""
        report = self.last_report = RunReport(call=name, started_at=datetime.now(timezone.utc))
        self.session.begin()
        with self._locked():
            package = self.ensure_newest_package() if fetch else self._check_package()
            report.commit_sha = package.commit_sha
            call = self._call(name, params, Project(package), report, dataset=dataset,
                              additional_vars=additional_vars, hooks=[*self._default_hooks(), *self.hooks])
            try:
                call.start()
                try:
                    outcome = strategy(call)
                except BaseException as exc:
                    call.finish(exc)
                    raise
                call.finish(None)
            finally:
                call.close()
        return CallResults.of(outcome)

    def _call(self, name: str, params: Mapping[str, Any], project: Project, report: RunReport, *,
              dataset: str | None, additional_vars: Mapping[str, Any] | None, hooks: Sequence[Any]) -> Call:
        return Call(name, params, project=project, invoker=self._invoker, report=report,
                    hooks=HookRunner(hooks, self._invoker.redact), on_event=self.on_event, dataset=dataset,
                    additional_vars=additional_vars)

    def _default_hooks(self) -> list[CallHooks]:
        """Warm state, run records (with the sources' snapshot a full build keeps for changed-only calls) and
        lineage."""
        settings = self.record_settings
        lineage = lineage_configured(settings.openlineage)
        records = RecordsHook(settings, lineage=lineage)
        hooks: list[CallHooks] = [records]
        if settings.enabled:
            hooks.insert(0, SourcesSnapshot(records.store))
        if self.row_counts:
            from dbt_kickoff.row_counts import RowCounts

            hooks.insert(0, RowCounts())
        if lineage:
            from dbt_kickoff.lineage.hook import LineageHook

            hooks.append(LineageHook(settings.openlineage))
        if settings.enabled and self.warm_state:
            from dbt_kickoff.warm import WarmStateHook  # imported when used (records on)

            hooks.insert(0, WarmStateHook(settings))
        return hooks

    def _check_package(self) -> ResolvedPackage:
        """Every call checks the package again, without network (``run_all`` fetches instead): a git checkout
        damaged since the last call (files edited or deleted, objects lost, the folder gone) is repaired or
        cloned again, as on the first call; a local folder must still be a dbt package."""
        self._package = self.source.resolve()
        return self._package

    def _resolved(self) -> ResolvedPackage:
        if self._package is None:
            self._package = self.source.resolve()
        return self._package

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with held(_lock_path(self.package_dir)):
            yield


@validated(CORE_OPTIONS)
def package(
    destination: Any,
    package_location: str | Path,
    *,
    package_repository_branch: str | None = None,
    package_repository_ssh_key: str | None = None,
    venv: Any = None,
    dataset_name: str | None = None,
    source_dataset_name: str | None = None,
    profiles_dir: str | Path | None = None,
    profile_name: str | None = None,
    target: str | None = None,
    working_dir: str | Path | None = None,
    auto_full_refresh_when_out_of_sync: bool = True,
    threads: int | None = None,
    subdirectory: str | None = None,
    package_repository_token: str | None = None,
    allow_stale_package: bool = False,
    git_options: Mapping[str, Any] | None = None,
    command_timeout: float | None = None,
    connect_timeout: float | None = None,
    on_event: EventHandler | None = None,
    reuse_manifest: bool = True,
    recycle_after_commands: int | None = None,
    recycle_above_memory_mb: float | None = None,
    cancel_grace: float = 10.0,
    warm_start: bool = True,
    records: str | Path | bool | None = None,
    keep_last: int | None = 50,
    records_options: Mapping[str, Any] | None = None,
    openlineage: Any = None,
    always_build: str | None = None,
    hooks: Sequence[CallHooks] = (),
    row_counts: bool = False,
    warm_state: bool = True,
) -> PackageRunner:
    """A :class:`PackageRunner` for the dbt package at ``package_location`` writing to ``destination``.

    ``destination``: a dlt pipeline, a connection URL, a mapping with ``type``, or ``None`` for the package's
    own profiles.yml (``profiles_dir``/``profile_name``/``target`` select it); or a callable returning one of
    these, called again before every dbt command (credentials that change, such as short-lived tokens).
    ``package_location``: a local folder or a git URL (``package_repository_branch`` = branch, tag or sha;
    ``working_dir`` = checkout cache;
    ``allow_stale_package`` keeps using the last good checkout when the repository cannot be reached;
    ``git_options``: ``known_hosts``, ``host_key_policy``, ``username``, ``timeout``).
    ``venv``: ``None`` for the dbt of this interpreter, or a :func:`dbt_kickoff.get_venv` environment.
    ``dataset_name``: the schema dbt builds into; ``source_dataset_name``: the one the data was loaded into
    (a dlt pipeline's dataset by default; both reach dbt as vars). Bad input raises a :class:`KickoffError` right here.
    Warm cycles: the runner keeps one dbt process and, with ``reuse_manifest``, its parsed manifest until the
    project files, profile or vars change; ``recycle_after_commands`` / ``recycle_above_memory_mb`` restart
    that process after so many commands or above that resident memory. ``on_event`` receives live events.
    Stopping: ``runner.cancel()`` (any thread) or any exception in the waiting thread sends dbt SIGINT, waits
    ``cancel_grace`` seconds, then kills it; ``command_timeout`` does the same after so many seconds.
    ``warm_start``: start dbt in the background now (a local package), so importing dbt overlaps your own work.
    Run records: every call leaves ``<records>/<UTC start>-<id>/`` (dbt's artifacts and ``report.json``);
    ``records`` is a folder or fsspec URL (``records_options``: fsspec storage options), ``None`` for a folder
    under the user's state dir, ``False`` for none; ``keep_last`` records are kept. ``openlineage``: ``None``
    (emit when the OpenLineage client is configured by its env/config), ``False``, ``True``, a client config
    mapping, a URL, or an ``OpenLineageClient``. ``always_build``: a dbt selector of models that every
    changed-only call builds (``"tag:always"``, ``"model_a model_b"``), for models whose result changes without
    any change dbt-kickoff can see (``current_date``, random samples, external calls). ``hooks``: observers of
    every call (:class:`~dbt_kickoff.core.call.CallHooks`: call started, before dbt, step done, call finished).
    ``row_counts``: fill ``NodeResult.rows_affected`` for models whose adapter reports none (dbt-duckdb's), with
    one ``count(*)`` per model after each step (off by default: a view is counted by running it).
    ``warm_state`` (with records on): publish dbt's parse state, the manifest and the installed packages to the
    records store after each call, and restore them before dbt starts where they are missing, so a fresh machine
    starts warm when ``records`` is shared storage (see :mod:`dbt_kickoff.warm`; ``False`` turns it off).
    """
    if threads is not None and threads < 1:
        raise ConfigurationError(f"threads must be a positive number, not {threads}")
    if keep_last is not None and keep_last < 1:
        raise ConfigurationError(f"keep_last must be a positive number of records (or None for all), not {keep_last}")
    if destination is None and dataset_name is None and profiles_dir is not None and not Path(profiles_dir).is_dir():
        raise ConfigurationError(f"profiles_dir {profiles_dir} is not a folder")

    source = open_source(
        package_location,
        ref=package_repository_branch,
        ssh_key=package_repository_ssh_key,
        token=package_repository_token,
        subdirectory=subdirectory,
        cache_dir=Path(working_dir) if working_dir else None,
        allow_stale=allow_stale_package,
        **dict(git_options or {}),
    )
    def resolve(value: Any) -> Profile | None:
        return resolve_destination(value, dataset_name=dataset_name, threads=threads, connect_timeout=connect_timeout)

    factory = (lambda: resolve(destination())) if callable(destination) else None
    runner = unchecked(PackageRunner)(  # package() checked these options already
        source=source,
        profile=factory() if factory else resolve(destination),
        destination_factory=factory,
        environment=resolve_environment(venv),
        dataset_name=dataset_name,
        source_dataset_name=source_dataset_name,
        profiles_dir=Path(profiles_dir) if profiles_dir else None,
        profile_name=profile_name,
        target=target,
        threads=threads,
        auto_full_refresh_when_out_of_sync=auto_full_refresh_when_out_of_sync,
        command_timeout=command_timeout,
        on_event=on_event,
        reuse_manifest=reuse_manifest,
        recycle_after_commands=recycle_after_commands,
        recycle_above_memory_mb=recycle_above_memory_mb,
        cancel_grace=cancel_grace,
        record_settings=RecordSettings(records=records, keep_last=keep_last,
                                       storage_options=dict(records_options or {}), openlineage=openlineage),
        secrets=[package_repository_token],
        always_build=always_build,
        hooks=hooks,
        row_counts=row_counts,
        warm_state=warm_state,
    )
    if isinstance(source, LocalSource):  # a local folder is checked now, so bad input fails at once
        if warm_start:
            runner.session.warm_up(runner.package_dir)
        else:
            runner.package_dir  # noqa: B018
    return runner
