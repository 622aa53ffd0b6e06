"""Where the runner meets records: a decorator around each public call, and the runner's record identity and
store (what changed-only builds look up)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from dbt_kickoff.records.identity import RecordIdentity, option_value, short_hash, vars_from_args
from dbt_kickoff.records.recorder import Recorder, RunContext
from dbt_kickoff.records.store import RecordStore
from dbt_kickoff.reports import RunReport

if TYPE_CHECKING:
    from dbt_kickoff.runner import PackageRunner

F = TypeVar("F", bound=Callable[..., Any])

_RUNNER_OPTIONS = ("dataset_name", "source_dataset_name", "profile_name", "target", "threads")


def run_context(runner: PackageRunner, dataset: str | None = None) -> RunContext:
    """What a record says about the runner: package, dbt version, destination without secrets, options;
    ``dataset``: the call's destination dataset (where its artifacts are)."""
    package = runner.package
    profile = runner.profile
    if profile is not None:
        destination: dict[str, Any] = {"type": profile.destination_type, "adapter_type": profile.adapter_type,
                                       "schema": profile.schema, "output": dict(profile.output)}
    else:
        destination = {"type": None, "profiles_dir": str(runner.profiles_dir) if runner.profiles_dir else None,
                       "profile": runner.profile_name, "target": runner.target}
    options = {name: getattr(runner, name, None) for name in _RUNNER_OPTIONS}
    from dbt_kickoff.sources import read_project_file

    project = read_project_file(package.project_dir, package.location)
    return RunContext(
        package_location=package.location, project_dir=package.project_dir, project=project,
        project_name=str(project.get("name") or package.project_name or package.project_dir.name),
        commit_sha=package.commit_sha, dbt_version=runner.dbt_version,
        adapter_type=profile.adapter_type if profile else None, destination=destination, runner_options=options,
        target_dir=runner.target_path(dataset),
    )


def recorded(method: F) -> F:
    """Wrap a public :class:`PackageRunner` call so that, however it ends, it leaves a run record."""
    signature = inspect.signature(method)

    @functools.wraps(method)
    def wrapper(self: PackageRunner, *args: Any, **kwargs: Any) -> Any:
        if self._recorder is not None:  # a public call inside another one belongs to the outer record
            return method(self, *args, **kwargs)
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        params = {k: v for k, v in bound.arguments.items() if k != "self"}
        dataset = params.get("destination_dataset_name")
        recorder = Recorder(self.record_settings, method.__name__, params, lambda: run_context(self, dataset),
                            self._redact)
        self._recorder = recorder
        self.last_report = RunReport(call=method.__name__, started_at=recorder.started_at)
        try:
            result = method(self, *args, **kwargs)
        except BaseException as exc:
            self._recorder = None
            recorder.finish(self.last_report, exc)
            raise
        self._recorder = None
        recorder.finish(self.last_report, None)
        return result

    return wrapper  # type: ignore[return-value]


def identity_for(runner: PackageRunner, additional_vars: Mapping[str, Any] | None = None,
                 destination_dataset_name: str | None = None, dbt_version: str | None = None) -> RecordIdentity:
    """The identity a call with these vars would record: its ``state_key`` finds the last good run to use as
    dbt's ``--state`` (:func:`dbt_kickoff.records.last_successful_record`). Starts dbt to learn its version,
    unless dbt runs already or ``dbt_version`` is given."""
    ctx = run_context(runner)
    args = runner._command_line(["build"], dataset=destination_dataset_name, additional_vars=additional_vars,
                                 full_refresh=False)
    if ctx.dbt_version is None and dbt_version is None:
        runner.session.start(ctx.project_dir)
    return RecordIdentity(
        package_location=ctx.package_location, project_name=ctx.project_name,
        profile_name=option_value(args, "--profile"), target=option_value(args, "--target"),
        adapter_type=ctx.adapter_type, schema=ctx.destination.get("schema"),
        vars_hash=short_hash(vars_from_args(args)), dbt_version=runner.dbt_version or dbt_version,
    )


def store_for(runner: PackageRunner) -> RecordStore | None:
    """The store this runner writes its records to (``None`` with ``records=False``)."""
    if not runner.record_settings.enabled:
        return None
    ctx = run_context(runner)
    return runner.record_settings.store(ctx.project_name, short_hash([ctx.package_location, ctx.project_name]))
