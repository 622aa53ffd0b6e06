"""``PackageRunner.retry()``: check the record belongs to this package and dbt version, then run the plan."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dbt_kickoff import commands
from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.records.hook import run_context
from dbt_kickoff.records.identity import short_hash
from dbt_kickoff.records.reading import Record, RecordNotFound, last_record, open_record
from dbt_kickoff.records.retry import plan_retry
from dbt_kickoff.results import NodeResult

if TYPE_CHECKING:
    from dbt_kickoff.runner import PackageRunner

logger = logging.getLogger("dbt_kickoff.records")


def _previous(runner: PackageRunner, record: Any, package_key: str, project_name: str) -> Record:
    settings = runner.record_settings
    if isinstance(record, Record):
        return record
    if record is not None:
        where = settings.records if isinstance(settings.records, (str, Path)) else None
        return open_record(str(record), where, settings.storage_options)
    if not settings.enabled:
        raise ConfigurationError("retry() needs a record, but this runner has records=False: pass record=")
    store = settings.store(project_name, package_key)
    found = last_record(store, package_key)
    if found is None:
        raise RecordNotFound(f"no run record of this package in {store.uri()}: there is nothing to retry")
    return found


def run_retry(runner: PackageRunner, record: Any = None) -> list[NodeResult]:
    """See :meth:`PackageRunner.retry`."""
    ctx = run_context(runner)
    package_key = short_hash([ctx.package_location, ctx.project_name])
    previous = _previous(runner, record, package_key, ctx.project_name)
    identity = previous.identity
    if identity.package_key != package_key:
        raise ConfigurationError(
            f"the record {previous.uri} is of the package {identity.package_location} "
            f"({identity.project_name}), not of {ctx.package_location} ({ctx.project_name}): retry it with a "
            "runner of that package, or pick a record of this one"
        )
    project = dict(ctx.project)
    plan = plan_retry(previous.data, has_deps=commands.has_package_dependencies(ctx.project_dir),
                      has_seeds=commands.has_seeds(ctx.project_dir, project))
    report = runner._new_report()
    if not plan.actions:
        logger.warning("%s", plan.reason)
        return []
    runner.session.start(runner.package_dir)  # dbt's version is known once it runs
    if identity.dbt_version and runner.dbt_version and identity.dbt_version != runner.dbt_version:
        raise ConfigurationError(
            f"the record {previous.uri} was made with dbt {identity.dbt_version}, but this runner has dbt "
            f"{runner.dbt_version}: dbt retry needs the same version (use get_venv(dbt_version="
            f"{identity.dbt_version!r}) or run the command again in full)"
        )
    params = previous.data.get("params") or {}
    extra = params.get("additional_vars")
    dataset = params.get("destination_dataset_name")
    logger.info("retrying %s (%s): %s", previous.name, previous.outcome, ", ".join(a.label for a in plan.actions))
    with runner._locked(), tempfile.TemporaryDirectory(prefix="dbt-kickoff-retry-") as scratch:
        runner._check_package()
        report.commit_sha = runner.commit_sha
        for action in plan.actions:
            if action.kind == "retry":
                assert action.step_dir is not None
                state = previous.download(Path(scratch) / action.step_dir, prefix=f"{action.step_dir}/")
                runner._step(["retry", "--state", str(state)], additional_vars=extra, dataset=dataset)
            elif action.command == ("deps",):
                runner._install_dependencies(extra, dataset)
            else:
                runner._step(list(action.command), additional_vars=extra, dataset=dataset,
                             full_refresh=action.full_refresh)
    return report.results
