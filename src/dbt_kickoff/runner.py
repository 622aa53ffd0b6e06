"""``PackageRunner``: runs dbt commands for one package and destination, keeping one warm dbt process."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import time
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from dbt_kickoff import command_line, commands
from dbt_kickoff.changed.source_state import note_sources_before
from dbt_kickoff.engines import DbtEvent, DbtSession, EventHandler, Invocation, InvocationOutcome
from dbt_kickoff.engines.session import RecyclePolicy
from dbt_kickoff.environments import DbtEnvironment, resolve_environment
from dbt_kickoff.errors import ConfigurationError, DbtCancelled, IncrementalSchemaOutOfSyncError
from dbt_kickoff.loaded import loaded_tables, source_selectors
from dbt_kickoff.profiles import Profile, ProfilesDir, resolve_destination
from dbt_kickoff.records.hook import recorded
from dbt_kickoff.records.recorder import Recorder, RecordSettings
from dbt_kickoff.redaction import Redactor, redact_file
from dbt_kickoff.reports import RunReport, StepReport
from dbt_kickoff.results import NodeResult
from dbt_kickoff.sources import LocalSource, PackageSource, ResolvedPackage, open_source, read_project_file
from dbt_kickoff.validation import validated, validated_methods

logger = logging.getLogger("dbt_kickoff")


__all__ = ["PackageRunner", "RunReport", "StepReport", "package"]


def _lock_path(project_dir: Path) -> Path:
    import platformdirs  # imported when first needed: a task process starts faster

    key = hashlib.sha256(str(project_dir).encode()).hexdigest()[:20]
    folder = Path(platformdirs.user_cache_dir("dbt-kickoff")) / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{key}.lock"


@validated_methods
class PackageRunner:
    """Runs dbt commands on one dbt package against one destination.

    Create it with :func:`dbt_kickoff.package`. All commands of a runner share one warm dbt process (dbt is
    imported once); close the runner (or use it as a context manager) to stop that process and remove the
    generated profiles. Two runners on the same package folder are serialized by a file lock.
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
    ) -> None:
        self.source = source
        self.profile = profile
        self.environment = environment
        self.dataset_name = dataset_name
        self.source_dataset_name = source_dataset_name or (profile.source_dataset_name if profile else None)
        self.profiles_dir = profiles_dir
        self.profile_name = profile_name
        self.target = target
        self.threads = threads
        self.auto_full_refresh_when_out_of_sync = auto_full_refresh_when_out_of_sync
        self.command_timeout = command_timeout
        self.on_event = on_event
        self.reuse_manifest = reuse_manifest
        self.always_build = always_build
        """A dbt selector of models every changed-only call builds (non-deterministic ones: ``current_date``...)."""
        self.last_report = RunReport()
        self.record_settings = record_settings or RecordSettings()
        self._recorder: Recorder | None = None
        self._redact = Redactor([*(self.profile.secret_env.values() if self.profile else ()), *secrets])
        self.session = DbtSession(
            environment, env=dict(self.profile.secret_env) if self.profile else {}, redact=self._redact,
            recycle=RecyclePolicy(recycle_after_commands, recycle_above_memory_mb), cancel_grace=cancel_grace,
        )
        """The runner's dbt engine and generated profiles (see :class:`~dbt_kickoff.engines.DbtSession`)."""
        self._package: ResolvedPackage | None = None
        self._project: dict[str, Any] = {}
        self._destination_factory = destination_factory
        weakref.finalize(self, self.session.release)

    # -- public API -------------------------------------------------------------------------------------------
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
        return self._dataset_target(destination_dataset_name) or commands.target_dir(self.package_dir, self._project)

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
        self._set_package(self.source.ensure_newest())
        return self._resolved()

    @recorded
    def run_all(
        self,
        run_params: Sequence[str] | None = ("--fail-fast",),
        additional_vars: Mapping[str, Any] | None = None,
        source_tests_selector: str | None = None,
        destination_dataset_name: str | None = None,
        full_refresh: bool = False,
        changed_only: bool = False,
        always_build: str | None = None,
    ) -> list[NodeResult]:
        """deps (when the package has packages), seed, source tests (when a selector is given), run, test.

        Stops at the first failing step with :class:`DBTProcessingError`. Returns the node results of every
        step, in order (``last_report`` has them per step). ``changed_only``: seed, run and test only what
        changed since the last good run (see :meth:`build`).
        """
        if changed_only:
            from dbt_kickoff.changed.run import run_changed

            return run_changed(self, "run_all", cmd_params=run_params or (), additional_vars=additional_vars,
                               dataset=destination_dataset_name, full_refresh=full_refresh,
                               always_build=always_build, source_tests_selector=source_tests_selector)
        report = self._new_report()
        with self._locked():
            self.ensure_newest_package()
            report.commit_sha = self.commit_sha
            note_sources_before(self, run_params or (), destination_dataset_name)
            extra, dataset = additional_vars, destination_dataset_name
            if commands.has_package_dependencies(self.package_dir):
                self._install_dependencies(extra, dataset)
            if commands.has_seeds(self.package_dir, self._project):
                self._step(["seed"], additional_vars=extra, dataset=dataset, full_refresh=full_refresh)
            if source_tests_selector:
                self._step(["test", "--select", source_tests_selector], additional_vars=extra, dataset=dataset)
            self._step(["run", *(run_params or ())], additional_vars=extra, dataset=dataset, full_refresh=full_refresh)
            self._step(["test"], additional_vars=extra, dataset=dataset)
        return report.results

    @recorded
    def run(self, cmd_params: Sequence[str] = (), additional_vars: Mapping[str, Any] | None = None,
            destination_dataset_name: str | None = None, full_refresh: bool = False) -> list[NodeResult]:
        """``dbt run``; an incremental model out of sync is retried with ``--full-refresh`` when allowed."""
        return self._single(["run", *cmd_params], additional_vars, destination_dataset_name, full_refresh)

    @recorded
    def build(self, cmd_params: Sequence[str] = (), additional_vars: Mapping[str, Any] | None = None,
              destination_dataset_name: str | None = None, full_refresh: bool = False, changed_only: bool = False,
              always_build: str | None = None) -> list[NodeResult]:
        """``dbt build`` (seeds, models, snapshots and tests in DAG order).

        ``changed_only``: build only what changed since the last good run of the same package, target, vars and
        dbt version (its run record is dbt's ``--state``): changed code, config, macros and seeds
        (``state:modified+``), what is downstream of sources that received data (freshness, dlt loads), what
        failed or was skipped since, and ``always_build`` (a dbt selector; default: the runner's). Everything is
        built when there is no usable record. Each result's ``reason`` says why it was built, and
        ``last_report.changed`` what was decided (see the README, "Build only what changed").
        """
        if changed_only:
            from dbt_kickoff.changed.run import run_changed

            return run_changed(self, "build", cmd_params=cmd_params, additional_vars=additional_vars,
                               dataset=destination_dataset_name, full_refresh=full_refresh, always_build=always_build)
        return self._single(["build", *cmd_params], additional_vars, destination_dataset_name, full_refresh,
                            before_dbt=lambda: note_sources_before(self, cmd_params, destination_dataset_name))

    @recorded
    def test(self, cmd_params: Sequence[str] = (), additional_vars: Mapping[str, Any] | None = None,
             destination_dataset_name: str | None = None) -> list[NodeResult]:
        """``dbt test``."""
        return self._single(["test", *cmd_params], additional_vars, destination_dataset_name)

    @recorded
    def seed(self, cmd_params: Sequence[str] = (), additional_vars: Mapping[str, Any] | None = None,
             destination_dataset_name: str | None = None, full_refresh: bool = False) -> list[NodeResult]:
        """``dbt seed``."""
        return self._single(["seed", *cmd_params], additional_vars, destination_dataset_name, full_refresh)

    @recorded
    def snapshot(self, cmd_params: Sequence[str] = (), additional_vars: Mapping[str, Any] | None = None,
                 destination_dataset_name: str | None = None) -> list[NodeResult]:
        """``dbt snapshot``."""
        return self._single(["snapshot", *cmd_params], additional_vars, destination_dataset_name)

    @recorded
    def source_freshness(self, cmd_params: Sequence[str] = (), additional_vars: Mapping[str, Any] | None = None,
                         destination_dataset_name: str | None = None) -> list[NodeResult]:
        """``dbt source freshness`` (results from sources.json)."""
        return self._single(["source", "freshness", *cmd_params], additional_vars, destination_dataset_name)

    @recorded
    def deps(self) -> list[NodeResult]:
        """``dbt deps``: install the packages in packages.yml / dependencies.yml."""
        return self._single(["deps"], None, None)

    @recorded
    def invoke(self, args: Sequence[str], additional_vars: Mapping[str, Any] | None = None) -> list[NodeResult]:
        """Any other dbt command, e.g. ``invoke(["ls", "--select", "tag:daily"])``."""
        if not args:
            raise ConfigurationError("invoke() needs a dbt command, e.g. ['compile']")
        return self._single(list(args), additional_vars, None)

    def sources(self, additional_vars: Mapping[str, Any] | None = None,
                destination_dataset_name: str | None = None) -> list[dict[str, Any]]:
        """The package's dbt sources as the parsed manifest resolves them: ``unique_id``, ``source_name``,
        ``name``, ``schema``, ``identifier``, ``database``, ``relation_name`` and the freshness settings
        (``loaded_at_field``, ``loaded_at_query``, ``freshness``); a warm runner answers from its cached manifest."""
        with self._locked():
            self._check_package()
            return self._sources(additional_vars, destination_dataset_name)

    @recorded
    def transform_loaded(
        self,
        loaded: Any,
        *,
        command: str = "build",
        cmd_params: Sequence[str] = (),
        additional_vars: Mapping[str, Any] | None = None,
        destination_dataset_name: str | None = None,
        include_dlt_tables: bool = False,
    ) -> list[NodeResult]:
        """Run ``command`` (build by default, so tests come along) only on the models downstream of the dbt
        sources that read what ``loaded`` wrote: a dlt ``LoadInfo`` or ``"schema.table"`` names.

        When nothing was loaded, or no source reads the loaded tables, dbt is not started at all and the
        result is empty. A ``LoadInfo`` with failed jobs raises :class:`~dbt_kickoff.loaded.LoadFailed`.
        """
        tables = loaded_tables(loaded, default_schema=self.source_dataset_name, include_dlt_tables=include_dlt_tables)
        report = self._new_report()
        if not tables:
            logger.info("nothing was loaded: dbt is not run")
            return []
        with self._locked():
            self._check_package()
            report.commit_sha = self.commit_sha
            selectors = source_selectors(tables, self._sources(additional_vars, destination_dataset_name))
            if not selectors:
                logger.warning("no dbt source reads the loaded tables %s: dbt is not run",
                               ", ".join(sorted(map(str, tables))))
                return []
            return self._step([command, "--select", *selectors, *cmd_params], additional_vars=additional_vars,
                              dataset=destination_dataset_name)

    @recorded
    def retry(self, record: Any = None) -> list[NodeResult]:
        """Rerun only what the last recorded call of this package left failed, skipped or undone (dbt's
        ``retry``; for ``run_all`` also the steps that never ran). ``record``: a :class:`~dbt_kickoff.records.Record`,
        a record folder/URL, or ``None`` for this package's last record. After a successful run it does
        nothing (a log line says so) and returns ``[]``. A record of another package or dbt version raises
        :class:`ConfigurationError`."""
        from dbt_kickoff.records.retry_run import run_retry

        return run_retry(self, record)

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

    # -- internals --------------------------------------------------------------------------------------------
    def _new_report(self) -> RunReport:
        self.session.begin()
        if self._recorder is None:
            self.last_report = RunReport()
        else:  # the record hook made this call's report
            self.last_report.on_step = self._recorder.step_done
        return self.last_report

    def _single(self, command: list[str], additional_vars: Mapping[str, Any] | None, dataset: str | None,
                full_refresh: bool = False, before_dbt: Callable[[], None] | None = None) -> list[NodeResult]:
        report = self._new_report()
        with self._locked():
            self._check_package()
            report.commit_sha = self.commit_sha
            if before_dbt is not None:
                before_dbt()
            self._step(command, additional_vars=additional_vars, dataset=dataset, full_refresh=full_refresh)
        return report.results

    def _check_package(self) -> None:
        """Every call checks the package again, without network (``run_all`` fetches instead): a git checkout
        damaged since the last call (files edited or deleted, objects lost, the folder gone) is repaired or
        cloned again, as on the first call; a local folder must still be a dbt package."""
        if self._package is not None:
            self._set_package(self.source.resolve())

    def _set_package(self, package: ResolvedPackage) -> None:
        self._package = package
        self._project = read_project_file(package.project_dir, package.location)

    def _resolved(self) -> ResolvedPackage:
        if self._package is None:
            self._set_package(self.source.resolve())
        assert self._package is not None
        return self._package

    @contextmanager
    def _locked(self) -> Iterator[None]:
        from filelock import FileLock  # imported when first needed (it brings asyncio along)

        lock = FileLock(_lock_path(self.package_dir))
        with lock:
            yield

    def _destination_dataset(self, override: str | None) -> str | None:
        if override:
            return override
        if self.dataset_name:
            return self.dataset_name
        return self.profile.schema if self.profile else None

    def _dataset_target(self, destination_dataset_name: str | None) -> Path | None:
        """The dataset's own target folder (dbt v1), or ``None`` where the project's target path is used (the
        dbt v2 engine keeps no partial-parse file)."""
        if self.environment.exit_codes != "v1":
            return None
        base = commands.target_dir(self.package_dir, self._project)
        dataset = self._destination_dataset(destination_dataset_name)
        if self.profile is not None:
            profile = self.profile.with_schema(dataset) if dataset else self.profile
            identity = [profile.adapter_type, self._profile_name(), self._target_name(),
                        json.dumps(profile.output, sort_keys=True, default=str)]
        else:
            identity = [str(self.profiles_dir or ""), self.profile_name or "", self.target or ""]
        return base / command_line.state_folder(dataset, identity)

    def _profile_args(self, dataset: str | None) -> list[str]:
        package = self._resolved()
        if self.profile is None:
            profiles_dir = self.profiles_dir or (
                package.project_dir if (package.project_dir / "profiles.yml").is_file() else None
            )
            return command_line.profile_args(profiles_dir, self.profile_name, self.target)
        profile = self.profile.with_schema(dataset) if dataset else self.profile
        generated = self.session.profiles_dir(
            dataset or "", lambda: ProfilesDir(profile, self._profile_name(), target=self._target_name())
        )
        return command_line.profile_args(generated.path, self._profile_name(), self._target_name())

    def _target_name(self) -> str:
        return self.target or (self.profile.destination_type if self.profile else "dev")

    def _profile_name(self) -> str:
        return self.profile_name or self._resolved().profile_name or "dbt_kickoff"

    def _command_line(self, command: list[str], *, dataset: str | None, additional_vars: Mapping[str, Any] | None,
                      full_refresh: bool) -> list[str]:
        profile = [] if command[0] in command_line.NO_PROFILE_COMMANDS else self._profile_args(
            self._destination_dataset(dataset) if self.profile else None
        )
        variables = command_line.dataset_vars(self._destination_dataset(dataset), self.source_dataset_name,
                                              additional_vars)
        return command_line.command_line(command, project_dir=self.package_dir, profile=profile, variables=variables,
                                         threads=self.threads, full_refresh=full_refresh,
                                         target_path=self._dataset_target(dataset))

    def _step(self, command: list[str], *, additional_vars: Mapping[str, Any] | None, dataset: str | None,
              full_refresh: bool = False) -> list[NodeResult]:
        try:
            return self._execute(command, additional_vars=additional_vars, dataset=dataset, full_refresh=full_refresh)
        except IncrementalSchemaOutOfSyncError:
            if not self.auto_full_refresh_when_out_of_sync or full_refresh or command[0] not in {"run", "build"}:
                raise
            logger.warning(
                "an incremental model's schema is out of sync with its table: running dbt %s again with "
                "--full-refresh (pass auto_full_refresh_when_out_of_sync=False to fail instead)", command[0]
            )
            failed_attempt = self.last_report.steps.pop()
            results = self._execute(command, additional_vars=additional_vars, dataset=dataset, full_refresh=True)
            retry = self.last_report.steps[-1]
            retry.full_refresh_retry = True
            retry.duration += failed_attempt.duration
            return results

    def _refresh_destination(self) -> None:
        """A destination given as a callable is resolved again for every dbt command (short-lived tokens); a
        changed profile gets new profile folders, new secrets reach dbt with the command and are masked."""
        if self._destination_factory is None:
            return
        profile = self._destination_factory()
        if profile is None:
            raise ConfigurationError("the destination callable returned None; return a destination")
        if self.profile is None or profile.adapter_type != self.profile.adapter_type or (
            profile.output != self.profile.output
        ):
            self.session.drop_profiles()
        self._redact.add(profile.secret_env.values())
        self.profile = profile

    def _execute(self, command: list[str], *, additional_vars: Mapping[str, Any] | None, dataset: str | None,
                 full_refresh: bool) -> list[NodeResult]:
        package = self._resolved()
        command_name = command_line.command_name(command)
        earlier = self.last_report.results
        self._raise_if_cancelled(command_name, earlier)
        self._refresh_destination()
        args = self._command_line(command, dataset=dataset, additional_vars=additional_vars, full_refresh=full_refresh)
        logger.info("dbt %s in %s", command_name, package.location)
        started = time.perf_counter()
        started_at = datetime.now(timezone.utc)
        invocation = self._invocation(command, args, dataset, additional_vars)
        target = self.target_path(dataset)
        with self._masked_outputs(target, command):
            outcome = self.session.execute(invocation, self._handle_event, cwd=package.project_dir)
        results = commands.read_results(command, target, outcome)
        self.last_report.add(
            StepReport(command=command_name, results=results, duration=time.perf_counter() - started,
                       warnings=outcome.warnings, parsed=outcome.parsed or not invocation.manifest_key,
                       nothing_selected=outcome.nothing_selected and not results,
                       args=[self._redact(a) for a in args], invocation_id=outcome.invocation_id,
                       started_at=started_at, success=outcome.success, target_dir=target)
        )
        if outcome.nothing_selected and not results:
            logger.warning("dbt %s: the selection matched no nodes; nothing was run", command_name)
        commands.raise_for_outcome(command_name, results, outcome, earlier, package.project_dir)
        self._raise_if_cancelled(command_name, self.last_report.results)
        return results

    def _run_quietly(self, command: list[str], *, additional_vars: Mapping[str, Any] | None, dataset: str | None,
                     on_event: EventHandler | None = None) -> InvocationOutcome:
        """A dbt command that helps a decision (``ls``, ``source freshness``) and is no step of the call: it
        leaves no step in the report, and its events go to ``on_event`` only."""
        self._raise_if_cancelled(command_line.command_name(command), self.last_report.results)
        self._refresh_destination()
        args = self._command_line(command, dataset=dataset, additional_vars=additional_vars, full_refresh=False)
        invocation = self._invocation(command, args, dataset, additional_vars)
        with self._masked_outputs(invocation.target_dir, command):
            outcome = self.session.execute(invocation, on_event or (lambda event: None), cwd=self.package_dir)
        self._raise_if_cancelled(command_line.command_name(command), self.last_report.results)
        return outcome

    def _raise_if_cancelled(self, command_name: str, results: list[NodeResult]) -> None:
        """A cancel that came between two steps (or as a step ended) stops the call before the next one."""
        reason = self.session.cancel_reason
        if reason is not None:
            raise DbtCancelled(f"dbt {command_name} was stopped ({reason})", results=results, reason=reason,
                               command=command_name)

    def _install_dependencies(self, additional_vars: Mapping[str, Any] | None, dataset: str | None) -> None:
        """``dbt deps``, skipped when the packages it installed last time (in any process) are unchanged and
        still there, so a new task process does not need the package hub."""
        if commands.dependencies_installed(self.package_dir, self._project):
            logger.debug("dbt deps skipped: the installed packages match packages.yml / package-lock.yml")
            return
        self._step(["deps"], additional_vars=additional_vars, dataset=dataset)
        commands.remember_dependencies(self.package_dir, self._project)

    def _secret_env(self) -> dict[str, str]:
        return dict(self.profile.secret_env) if self.profile and self._destination_factory else {}

    def _sources(self, additional_vars: Mapping[str, Any] | None, dataset: str | None) -> list[dict[str, Any]]:
        self._raise_if_cancelled("parse", [])
        self._refresh_destination()
        parse_args = self._command_line(["parse"], dataset=dataset, additional_vars=additional_vars, full_refresh=False)
        invocation = self._with_manifest_key(self._invocation(["parse"], parse_args, dataset, additional_vars),
                                             dataset, additional_vars)
        with self._masked_outputs(invocation.target_dir, ["parse"]):
            return self.session.sources(invocation, self._handle_event, cwd=self.package_dir)

    def _invocation(self, command: Sequence[str], args: list[str], dataset: str | None,
                    additional_vars: Mapping[str, Any] | None) -> Invocation:
        """One dbt command for the dataset: its target folder (checked writable, with the log folder, before dbt
        starts) and, for commands that work from a manifest, the key of the parsed one a warm engine reuses."""
        target = self.target_path(dataset)
        invocation = Invocation(args=args, timeout=self.command_timeout, target_dir=target, env=self._secret_env())
        if command[0] in command_line.MANIFEST_COMMANDS:
            invocation = self._with_manifest_key(invocation, dataset, additional_vars)
        commands.ensure_output_folders(self.package_dir, self._project,
                                       target if command[0] in command_line.TARGET_PATH_COMMANDS else None)
        return invocation

    @contextmanager
    def _masked_outputs(self, target: Path | None, command: Sequence[str]) -> Iterator[None]:
        """dbt's own files may quote a secret (a database error quoting a value, a connection string): its
        log lines of this command and the command's results file are masked as soon as it ends."""
        log = commands.log_dir(self.package_dir, self._project) / "dbt.log"
        start = log.stat().st_size if log.is_file() else 0
        try:
            yield
        finally:
            if target is not None:
                redact_file(commands.results_file(command, target), self._redact)
            if log.is_file() and log.stat().st_size < start:  # dbt rotated its log during the command
                redact_file(log.with_name(log.name + ".1"), self._redact, start=start)
            redact_file(log, self._redact, start=start)

    def _with_manifest_key(self, invocation: Invocation, dataset: str | None,
                           additional_vars: Mapping[str, Any] | None) -> Invocation:
        """Let a warm worker reuse its parsed manifest while the project files, profile and vars stay the same."""
        if not self.reuse_manifest or not self.session.keeps_manifest:
            return invocation
        parse_args = self._command_line(["parse"], dataset=dataset, additional_vars=additional_vars, full_refresh=False)
        key = command_line.manifest_key(commands.files_fingerprint(self.package_dir, self._project), parse_args)
        return dataclasses.replace(invocation, manifest_key=key, parse_args=parse_args)

    def _handle_event(self, event: DbtEvent) -> None:
        """Relay dbt's log lines to the ``dbt_kickoff`` logger, then to ``on_event``. Lines that repeat what the
        node results carry (a node's result line, the end-of-run summary of each failure) go at INFO, dbt's
        connection clean-up under --fail-fast ("CANCEL query <node>", for nodes that succeeded too) at DEBUG:
        a failure is told once, by the results and the raised error."""
        if event.finished and event.node is not None:
            node = event.node
            logger.info("%s %s: %s (%.2fs)", node.resource_type, node.name, node.status, node.execution_time or 0.0)
        elif event.name == "LogCancelLine":
            logger.debug("dbt: %s", event.message)
        elif event.message and event.name in {
            "LogModelResult", "LogTestResult", "LogSeedResult", "LogSnapshotResult", "LogFreshnessResult",
            "LogNodeResult", "LogNodeNoOpResult", "LogFunctionResult", "RunResultFailure", "RunResultError",
            "RunResultErrorMessage", "RunResultWarning", "RunResultWarningMessage", "EndOfRunSummary",
        }:
            logger.info("dbt: %s", event.message)
        elif event.level == "error" and event.message:
            logger.error("dbt: %s", event.message)
        elif event.level == "warn" and event.message:
            logger.warning("dbt: %s", event.message)
        if self.on_event is not None:
            self.on_event(event)



@validated
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
    any change dbt-kickoff can see (``current_date``, random samples, external calls).
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
    runner = PackageRunner(
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
    )
    if isinstance(source, LocalSource):  # a local folder is checked now, so bad input fails at once
        if warm_start:
            runner.session.warm_up(runner.package_dir)
        else:
            runner.package_dir  # noqa: B018
    return runner
