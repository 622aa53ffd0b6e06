"""How a runner's dbt commands are built and run: its destination (a profile, resolved again per command when
given as a callable), its options, its dbt session, the masking of what dbt leaves on disk. One per runner;
every :class:`~dbt_kickoff.core.call.Call` of the runner uses it."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dbt_kickoff.core import invocations
from dbt_kickoff.core.invocations import RecordIdentity
from dbt_kickoff.core.project import Project
from dbt_kickoff.engines import DbtSession, EventHandler, Invocation, InvocationOutcome
from dbt_kickoff.engines.artifacts import results_file
from dbt_kickoff.environments import DbtEnvironment
from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.profiles import Profile, ProfilesDir
from dbt_kickoff.profiles.location import location_of, profiles_yml_location
from dbt_kickoff.redaction import Redactor, redact_file


@dataclass(frozen=True)
class RunnerOptions:
    """What a runner was configured with that shapes its dbt commands (validated by ``package()``)."""

    dataset_name: str | None = None
    source_dataset_name: str | None = None
    profiles_dir: Path | None = None
    profile_name: str | None = None
    target: str | None = None
    threads: int | None = None
    command_timeout: float | None = None
    reuse_manifest: bool = True
    auto_full_refresh_when_out_of_sync: bool = True
    always_build: str | None = None

    RECORDED = ("dataset_name", "source_dataset_name", "profile_name", "target", "threads")
    """The options a run record keeps."""

    def recorded(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.RECORDED}


class Invoker:
    """Builds and runs one runner's dbt commands (see the module docstring)."""

    def __init__(self, *, session: DbtSession, environment: DbtEnvironment, profile: Profile | None,
                 options: RunnerOptions, redact: Redactor,
                 destination_factory: Callable[[], Profile | None] | None = None) -> None:
        self.session = session
        self.environment = environment
        self.profile = profile
        self.options = options
        self.redact = redact
        self._destination_factory = destination_factory

    # -- the destination --------------------------------------------------------------------------------------
    def refresh_destination(self) -> None:
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
        self.redact.add(profile.secret_env.values())
        self.profile = profile

    def destination(self) -> dict[str, Any]:
        """Where dbt writes, without secrets (the profile output holds ``env_var()`` references only)."""
        profile = self.profile
        if profile is not None:
            return {"type": profile.destination_type, "adapter_type": profile.adapter_type,
                    "schema": profile.schema, "output": dict(profile.output)}
        options = self.options
        return {"type": None, "profiles_dir": str(options.profiles_dir) if options.profiles_dir else None,
                "profile": options.profile_name, "target": options.target}

    def destination_dataset(self, override: str | None) -> str | None:
        """The schema a call writes into: its own, else the runner's ``dataset_name``, else the profile's."""
        if override:
            return override
        if self.options.dataset_name:
            return self.options.dataset_name
        return self.profile.schema if self.profile else None

    def variables(self, dataset: str | None, additional_vars: Mapping[str, Any] | None) -> dict[str, Any]:
        """The vars every dbt command of a call receives."""
        return invocations.dataset_vars(self.destination_dataset(dataset), self.options.source_dataset_name,
                                        additional_vars)

    def target_name(self) -> str:
        return self.options.target or (self.profile.destination_type if self.profile else "dev")

    def profile_name(self, project: Project) -> str:
        return self.options.profile_name or project.profile_name or "dbt_kickoff"

    def profile_selection(self, project: Project) -> tuple[str | None, str | None]:
        """The profile and target dbt is told to use (``None``: dbt's own default)."""
        if self.profile is not None:
            return self.profile_name(project), self.target_name()
        return self.options.profile_name, self.options.target

    def _profile_args(self, project: Project, dataset: str | None) -> list[str]:
        if self.profile is None:
            profiles_dir = self.options.profiles_dir or (
                project.dir if (project.dir / "profiles.yml").is_file() else None
            )
            return invocations.profile_args(profiles_dir, self.options.profile_name, self.options.target)
        profile = self.profile.with_schema(dataset) if dataset else self.profile
        name, target = self.profile_name(project), self.target_name()
        generated = self.session.profiles_dir(dataset or "", lambda: ProfilesDir(profile, name, target=target))
        return invocations.profile_args(generated.path, name, target)

    # -- where dbt writes -------------------------------------------------------------------------------------
    def dataset_target(self, project: Project, dataset: str | None) -> Path | None:
        """The dataset's own target folder (dbt v1), or ``None`` where the project's target path is used (the
        dbt v2 engine keeps no partial-parse file)."""
        if self.environment.exit_codes != "v1":
            return None
        dataset = self.destination_dataset(dataset)
        if self.profile is not None:
            profile = self.profile.with_schema(dataset) if dataset else self.profile
            identity = [profile.adapter_type, self.profile_name(project), self.target_name(),
                        json.dumps(profile.output, sort_keys=True, default=str)]
        else:
            options = self.options
            identity = [str(options.profiles_dir or ""), options.profile_name or "", options.target or ""]
        return project.target_dir / invocations.state_folder(dataset, identity)

    def target_path(self, project: Project, dataset: str | None) -> Path:
        """Where dbt writes the artifacts and parse state of a dataset (see ``PackageRunner.target_path``)."""
        return self.dataset_target(project, dataset) or project.target_dir

    # -- one command ------------------------------------------------------------------------------------------
    def args(self, project: Project, command: Sequence[str], *, dataset: str | None,
             additional_vars: Mapping[str, Any] | None, full_refresh: bool = False) -> list[str]:
        """The dbt command line of ``command`` for a dataset and vars."""
        profile = [] if command[0] in invocations.NO_PROFILE_COMMANDS else self._profile_args(
            project, self.destination_dataset(dataset) if self.profile else None
        )
        return invocations.command_line(
            command, project_dir=project.dir, profile=profile, variables=self.variables(dataset, additional_vars),
            threads=self.options.threads, full_refresh=full_refresh, target_path=self.dataset_target(project, dataset),
        )

    def invocation(self, project: Project, command: Sequence[str], *, dataset: str | None,
                   additional_vars: Mapping[str, Any] | None, full_refresh: bool = False,
                   keyed: bool | None = None) -> Invocation:
        """One dbt command for the dataset: its target folder (checked writable, with the log folder, before dbt
        starts) and, for commands that work from a manifest (or ``keyed``), the key of the parsed one a warm
        engine reuses."""
        self.refresh_destination()
        args = self.args(project, command, dataset=dataset, additional_vars=additional_vars, full_refresh=full_refresh)
        target = self.target_path(project, dataset)
        env = dict(self.profile.secret_env) if self.profile and self._destination_factory else {}
        invocation = Invocation(args=args, timeout=self.options.command_timeout, target_dir=target, env=env)
        if keyed is None:
            keyed = command[0] in invocations.MANIFEST_COMMANDS
        if keyed:
            invocation = self._with_manifest_key(project, invocation, dataset, additional_vars)
        project.ensure_output_folders(target if command[0] in invocations.TARGET_PATH_COMMANDS else None)
        return invocation

    def _with_manifest_key(self, project: Project, invocation: Invocation, dataset: str | None,
                           additional_vars: Mapping[str, Any] | None) -> Invocation:
        """Let a warm worker reuse its parsed manifest while the project files, profile and vars stay the same."""
        if not self.options.reuse_manifest or not self.session.keeps_manifest:
            return invocation
        parse_args = self.args(project, ["parse"], dataset=dataset, additional_vars=additional_vars)
        key = invocations.manifest_key(project.fingerprint, parse_args)
        return dataclasses.replace(invocation, manifest_key=key, parse_args=parse_args)

    def execute(self, project: Project, invocation: Invocation, on_event: EventHandler) -> InvocationOutcome:
        """Run one command; what dbt left on disk is masked as soon as it ends."""
        with self.masked_outputs(project, invocation.target_dir, invocation.args):
            return self.session.execute(invocation, on_event, cwd=project.dir)

    def sources(self, project: Project, *, dataset: str | None, additional_vars: Mapping[str, Any] | None,
                on_event: EventHandler) -> list[dict[str, Any]]:
        """The project's sources as the parsed manifest resolves them (a warm worker answers from its cache)."""
        invocation = self.invocation(project, ["parse"], dataset=dataset, additional_vars=additional_vars,
                                     keyed=True)
        with self.masked_outputs(project, invocation.target_dir, ["parse"]):
            return self.session.sources(invocation, on_event, cwd=project.dir)

    @contextmanager
    def masked_outputs(self, project: Project, target: Path | None, command: Sequence[str]) -> Iterator[None]:
        """dbt's own files may quote a secret (a database error quoting a value, a connection string): its
        log lines of this command and the command's results file are masked as soon as it ends."""
        log = project.log_file
        start = log.stat().st_size if log.is_file() else 0
        try:
            yield
        finally:
            if target is not None:
                redact_file(results_file(command, target), self.redact)
            if log.is_file() and log.stat().st_size < start:  # dbt rotated its log during the command
                redact_file(log.with_name(log.name + ".1"), self.redact, start=start)
            redact_file(log, self.redact, start=start)

    # -- identity ---------------------------------------------------------------------------------------------
    def location(self, project: Project) -> dict[str, Any]:
        """What identifies the database dbt writes to (no secrets): the profile's, or the package's own
        profiles.yml target's, looked up where dbt looks for it."""
        if self.profile is not None:
            return location_of(self.profile.output)
        profile_name, target = self.options.profile_name or project.profile_name, self.options.target
        if self.options.profiles_dir is not None:
            folders = [self.options.profiles_dir]
        else:
            from_env = os.environ.get("DBT_PROFILES_DIR")
            folders = [project.dir, *([Path(from_env)] if from_env else []), Path.home() / ".dbt"]
        return profiles_yml_location(folders, profile_name, target)

    def identity(self, project: Project, *, dataset: str | None, additional_vars: Mapping[str, Any] | None,
                 dbt_version: str | None) -> RecordIdentity:
        """Which package, target, vars and dbt version a call with these inputs belongs to."""
        profile_name, target = self.profile_selection(project)
        variables = invocations.as_received(self.variables(dataset, additional_vars))
        return RecordIdentity(
            package_location=project.location, project_name=project.name, profile_name=profile_name,
            target=target, adapter_type=self.profile.adapter_type if self.profile else None,
            schema=self.profile.schema if self.profile else None, vars_hash=invocations.short_hash(variables),
            dbt_version=dbt_version, location=invocations.short_hash(self.location(project)),
            dataset=self.destination_dataset(dataset),
        )
