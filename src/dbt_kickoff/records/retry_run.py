"""Retry as a strategy: find the record to finish, check it belongs to the package and dbt version, run the plan."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dbt_kickoff.core.call import Call, CallOutcome
from dbt_kickoff.core.invocations import RecordIdentity
from dbt_kickoff.core.project import Project
from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.records.reading import Record, RecordNotFound, last_record, load_record, open_record
from dbt_kickoff.records.recorder import RecordSettings
from dbt_kickoff.records.retry import RetryAction, plan_retry
from dbt_kickoff.records.store import RecordStore
from dbt_kickoff.results import NodeResult

logger = logging.getLogger("dbt_kickoff.records")


def record_to_retry(settings: RecordSettings, store: RecordStore | None, project: Project, record: Any,
                    identity: RecordIdentity) -> Record:
    """The record ``record`` names (a :class:`Record`, a folder/URL or name, or ``None``: the last one of this
    package and target), checked to be of this package and database (``identity``: the runner's)."""
    if isinstance(record, Record):
        previous = record
    elif record is not None:
        where = settings.records if isinstance(settings.records, (str, Path)) else None
        previous = open_record(str(record), where, settings.storage_options)
    elif store is None:
        raise ConfigurationError("retry() needs a record, but this runner has records=False: pass record=")
    else:
        found = last_record(store, identity.retry_key)
        if found is None:
            raise RecordNotFound(f"no run record of this package and target (dataset {identity.dataset}) in "
                                 f"{store.uri()}: there is nothing to retry")
        previous = found
    theirs = previous.identity
    if theirs.package_key != identity.package_key:
        raise ConfigurationError(
            f"the record {previous.uri} is of the package {theirs.package_location} "
            f"({theirs.project_name}), not of {project.location} ({project.name}): retry it with a "
            "runner of that package, or pick a record of this one"
        )
    if theirs.location is not None and (theirs.location, theirs.adapter_type) != (identity.location,
                                                                                   identity.adapter_type):
        raise ConfigurationError(
            f"the record {previous.uri} was made against another database than this runner's destination: retry "
            "it with a runner of that destination (a retry never runs one database's failures in another)"
        )
    return previous


def retry(call: Call, previous: Record) -> CallOutcome:
    """Rerun what ``previous`` left failed, skipped or undone (see :mod:`~dbt_kickoff.records.retry`); the call
    runs with the record's vars and dataset."""
    plan = plan_retry(previous.data, call.project)
    if not plan.actions:
        logger.warning("%s", plan.reason)
        return CallOutcome(skipped=plan.reason)
    recorded_version = previous.identity.dbt_version
    version = call.identity().dbt_version
    if recorded_version and version and recorded_version != version:
        raise ConfigurationError(
            f"the record {previous.uri} was made with dbt {recorded_version}, but this runner has dbt "
            f"{version}: dbt retry needs the same version (use get_venv(dbt_version={recorded_version!r}) or "
            "run the command again in full)"
        )
    logger.info("retrying %s (%s): %s", previous.name, previous.outcome, ", ".join(a.label for a in plan.actions))
    chain = previous.data.get("retry") or {}
    link = call.record_extras["retry"] = {
        "of": previous.uri, "root": chain.get("root") or previous.uri,
        "pending": [action.to_dict(previous.uri) for action in plan.actions],
    }
    earlier = [NodeResult.from_dict(r) for r in chain.get("merged") or ()] or previous.report.results
    try:
        for done, action in enumerate(plan.actions):
            link["pending"] = [a.to_dict(previous.uri) for a in plan.actions[done:]]
            _run(call, previous, action)
        link["pending"] = []
    finally:
        link["merged"] = [r.to_dict() for r in merged(earlier, call.report.results)]
    return CallOutcome(call.report.results)


def _run(call: Call, previous: Record, action: RetryAction) -> None:
    if action.kind == "retry":
        assert action.step_dir is not None
        source = previous
        if action.record not in (None, previous.uri):  # an earlier link of the chain, in the same store
            source = load_record(previous.store, str(action.record).rstrip("/").rsplit("/", 1)[-1])
        state = source.download(call.scratch / action.step_dir, prefix=f"{action.step_dir}/")
        call.step(["retry", "--state", str(state)])
    elif action.command == ("deps",):
        call.install_dependencies()
    else:
        call.step(list(action.command), full_refresh=action.full_refresh)


def merged(earlier: list[NodeResult], later: list[NodeResult]) -> list[NodeResult]:
    """Every node's latest result: ``earlier`` (the chain so far) overwritten by ``later``, in first-seen order."""
    by_node = {r.unique_id: r for r in earlier}
    by_node.update({r.unique_id: r for r in later})
    return list(by_node.values())


def retry_selected(call: Call, previous: Record, selection: Sequence[str]) -> CallOutcome:
    """``dbt build`` on the nodes ``selection`` picks, as a link of ``previous``'s retry chain (see
    :meth:`dbt_kickoff.PackageRunner.retry`): what the chain still had to do stays pending."""
    chain = previous.data.get("retry") or {}
    try:
        actions = plan_retry(previous.data, call.project).actions
    except ConfigurationError:  # a record that names no command to run again: nothing of it is pending
        actions = []
    pending = [action.to_dict(previous.uri) for action in actions] or list(chain.get("pending") or ())
    link = call.record_extras["retry"] = {"of": previous.uri, "root": chain.get("root") or previous.uri,
                                          "pending": pending, "selection": list(selection)}
    earlier = [NodeResult.from_dict(r) for r in chain.get("merged") or ()] or previous.report.results
    try:
        call.step(["build", *selection])
    finally:
        link["merged"] = [r.to_dict() for r in merged(earlier, call.report.results)]
    return CallOutcome(call.report.results)
