"""A wait that leaves what a Core call leaves: node events as the run goes (``on_event``), ``fail_fast``, the
run's record (:mod:`dbt_kickoff.records.cloud`) and its OpenLineage events — the runner facade's part of the
dbt Cloud runners, shared by :class:`~dbt_kickoff.cloud.runs.DbtCloud` and
:class:`~dbt_kickoff.cloud.async_runs.AsyncDbtCloud` as flows (see :mod:`.flows`).

The record is written once the run ended (also when it failed, was cancelled or the wait timed out); a wait
stopped from outside (KeyboardInterrupt, a task cancellation) leaves only the record's ``started.json``, and the
next wait on the run completes it. Writing a record or sending lineage never fails the wait: a problem is one
warning.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dbt_kickoff.cloud.artifacts import node_results_flow
from dbt_kickoff.cloud.base import CloudBase, human, run_id_of
from dbt_kickoff.cloud.collect import RECORD_RELATED, collect_flow
from dbt_kickoff.cloud.errors import DbtCloudError, DbtCloudRunCancelled, DbtCloudRunFailed, DbtCloudWaitTimeout
from dbt_kickoff.cloud.flows import Flow, Offload, call
from dbt_kickoff.cloud.ledger import idempotency_marker
from dbt_kickoff.cloud.rerun import rerun_flow, retry_marker
from dbt_kickoff.cloud.wait import OnPoll, wait_flow
from dbt_kickoff.cloud.watch import EventHandler, RunWatch
from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.lineage import emit_for_record, lineage_configured
from dbt_kickoff.records.cloud import (
    CloudRecord,
    CloudStep,
    cloud_records_store,
    find_cloud_record,
    previous_results,
)
from dbt_kickoff.records.reading import Record, open_record
from dbt_kickoff.records.recorder import RecordSettings
from dbt_kickoff.results import NodeResult

logger = logging.getLogger("dbt_kickoff.cloud.runs")


@dataclass(frozen=True)
class WaitOptions:
    """How to wait (checked by the entry point)."""

    poll_interval: float
    timeout: float | None
    cancel_on_timeout: bool
    raise_on_failure: bool
    on_poll: OnPoll | None
    just_triggered: bool
    cancel_on_stop: bool


@dataclass(frozen=True)
class Observers:
    """What a wait leaves besides the run: ``on_event``, ``fail_fast``, the record (``settings``) and lineage.
    ``resume_key``: the idempotency key the run was started with (events already delivered under it are not
    delivered again). ``params``: what the record says the call was asked. ``retry_of``: the record of the run
    this one reruns, ``retried_run`` its id (the record then merges both runs' nodes: ``previous``)."""

    settings: RecordSettings
    state_dir: Path | str | None = None
    on_event: EventHandler | None = None
    fail_fast: bool = False
    resume_key: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    retry_of: Record | None = None
    retried_run: int | None = None
    previous: tuple[NodeResult, ...] = ()

    @property
    def lineage(self) -> bool:
        return lineage_configured(self.settings.openlineage)

    @property
    def recording(self) -> bool:
        return self.settings.enabled or self.lineage

    @property
    def watching(self) -> bool:
        return self.on_event is not None or self.fail_fast or self.recording


def record_settings(base: RecordSettings, records: Any) -> RecordSettings:
    """The runner's record settings, with a call's ``records=`` (``None``: the runner's) in place."""
    return base if records is None else dataclasses.replace(base, records=records)


def observed_wait_flow(
    cloud: CloudBase, run: Mapping[str, Any] | int | str, wait: WaitOptions, observers: Observers
) -> Flow[dict[str, Any]]:
    """Wait for ``run`` as :func:`~dbt_kickoff.cloud.wait.wait_flow` does, with what ``observers`` ask for."""
    run_id = run_id_of(run)
    if not observers.watching:
        return (yield from _wait(cloud, run, wait, None))
    known: Mapping[str, Any] = run if isinstance(run, Mapping) else {}
    if not (known.get("created_at") and (known.get("job") or not observers.recording)):
        retries = cloud.client.retry.not_found_retries if wait.just_triggered else 0  # dbt Cloud's brief 404
        known = yield call("get_run", run_id, RECORD_RELATED, not_found_retries=retries)
    job = known.get("job_definition_id") or known.get("job_id")
    marker = None
    if observers.resume_key is not None and job:
        marker = idempotency_marker(cloud.client.host, cloud.client.account_id, int(job), observers.resume_key)
    watch = RunWatch(cloud, run_id, int(job) if job else None, observers.on_event, observers.fail_fast, marker)
    record = _record(cloud, known, observers) if observers.recording else None
    if record is not None:
        yield Offload(record.begin)
    error: DbtCloudError | None = None
    try:
        final = yield from _wait(cloud, known or run, wait, watch)
    except (DbtCloudRunFailed, DbtCloudWaitTimeout) as exc:
        error, final = exc, exc.run
    if record is not None:
        yield from _write(record, observers, watch, final, known, error)
    if error is not None:
        raise error
    return final


def _wait(cloud: CloudBase, run: Mapping[str, Any] | int | str, wait: WaitOptions,
          watch: RunWatch | None) -> Flow[dict[str, Any]]:
    return (yield from wait_flow(
        cloud, run, poll_interval=wait.poll_interval, timeout=wait.timeout, cancel_on_timeout=wait.cancel_on_timeout,
        raise_on_failure=wait.raise_on_failure, on_poll=wait.on_poll, just_triggered=wait.just_triggered,
        cancel_on_stop=wait.cancel_on_stop, watch=watch,
    ))


def _record(cloud: CloudBase, run: Mapping[str, Any], observers: Observers) -> CloudRecord:
    client = cloud.client
    job = int(run.get("job_definition_id") or run.get("job_id") or 0)
    store = cloud_records_store(observers.settings, observers.state_dir, client.account_id, job)
    return CloudRecord(observers.settings, store, access_url=client.access_url, account_id=client.account_id,
                       run=run, redact=client.scrub, params=observers.params, retry_of=observers.retry_of,
                       retried_run=observers.retried_run)


def _write(record: CloudRecord, observers: Observers, watch: RunWatch, final: Mapping[str, Any],
           known: Mapping[str, Any], error: DbtCloudError | None) -> Flow[None]:
    """Read what the record needs and write it, then send its OpenLineage events; a failure is one warning."""
    try:
        run, steps, manifest = yield from collect_flow(final, known, watch.files)
        timed_out = isinstance(error, DbtCloudWaitTimeout) or (
            isinstance(error, DbtCloudRunCancelled) and error.timed_out)
        yield Offload(record.write, (run, [CloudStep(**step) for step in steps], manifest, error,
                                     list(observers.previous), timed_out))
    except DbtCloudError as exc:
        logger.warning("the record of dbt Cloud run %s could not be written (the run itself is not affected): %s",
                       record.run_id, exc)
        return
    if observers.lineage and record.folder is not None and record.data is not None:
        yield Offload(_emit, (record, observers.settings.openlineage))


def _emit(record: CloudRecord, option: Any) -> None:
    try:
        assert record.folder is not None and record.data is not None
        emit_for_record(record.folder, record.data, option)
    except Exception as exc:
        logger.warning("OpenLineage events of dbt Cloud run %s could not be sent: %s", record.run_id,
                       record.redact(f"{type(exc).__name__}: {exc}"))
    finally:
        if record.store is None and record.folder is not None:  # lineage only: the record was temporary
            shutil.rmtree(record.folder.parent, ignore_errors=True)


def open_cloud_record(record: Any, settings: RecordSettings) -> Record:
    """The record of a dbt Cloud run that ``record`` names: a :class:`Record`, a record folder or URL, or a name
    inside the ``records`` location."""
    if not isinstance(record, Record):
        where = settings.records if isinstance(settings.records, (str, Path)) else None
        record = open_record(str(record), where, settings.storage_options)
    if not record.data.get("cloud"):
        raise ConfigurationError(
            f"the record {record.uri} is of a dbt Core call, not of a dbt Cloud run: retry it with `dbt-kickoff "
            "retry` or a PackageRunner's retry()"
        )
    return record


def found_run_id(cloud: CloudBase, record: Record | None, run: Mapping[str, Any] | int | str | None) -> int:
    """The id of the run a retry reruns: the record's (of this runner's account), else ``run``'s."""
    if record is not None:
        said = record.data["cloud"]
        if int(said.get("account_id") or 0) != cloud.client.account_id:
            raise ConfigurationError(
                f"the record {record.uri} is of a run of dbt Cloud account {said.get('account_id')}, not of "
                f"account {cloud.client.account_id}: use credentials of that account"
            )
        return int(said["run_id"])
    if run is None:
        raise ConfigurationError("retry() needs the run to rerun: pass the run (or its id) or record=")
    return run_id_of(run)


def retry_inputs(cloud: CloudBase, previous_run: Mapping[str, Any], record: Record | None,
                 observers: Observers) -> Flow[tuple[Record | None, tuple[NodeResult, ...]]]:
    """The record of the run a retry reruns (given, or found in the store) and every node's latest result in it
    (from the record, else from the run's artifacts)."""
    if record is None:
        job = int(previous_run.get("job_definition_id") or previous_run.get("job_id") or 0)
        store = cloud_records_store(observers.settings, observers.state_dir, cloud.client.account_id, job)
        record = yield Offload(find_cloud_record, (store, cloud.client.access_url, cloud.client.account_id,
                                                   previous_run))
    if record is not None:
        return record, tuple(previous_results(record))
    try:
        results = yield from node_results_flow(previous_run)
    except DbtCloudError as exc:
        logger.warning("the results of dbt Cloud run %s could not be read (%s): the retry's record has only its own",
                       previous_run.get("id"), exc)
        results = []
    return None, tuple(results)


def retry_flow(cloud: CloudBase, run: Mapping[str, Any] | int | str | None, record: Any,
               wait: WaitOptions | None, observers: Observers) -> Flow[dict[str, Any]]:
    """Rerun ``run`` (or the run of ``record``) from failure — the rerun already started for it, else a new one,
    under the ledger's claim — then, with ``wait``, wait for it as :func:`observed_wait_flow` does, its record
    merging both runs. A run that did not fail is returned as it is: there is nothing to rerun."""
    found: Record | None = None
    if record is not None:
        found = yield Offload(open_cloud_record, (record, observers.settings))
    previous: dict[str, Any] = yield call("get_run", found_run_id(cloud, found, run))
    claim = cloud.ledger.claim(retry_marker(cloud, previous))
    yield Offload(claim.acquire)  # a file lock: taken in a worker thread by the async runner
    try:
        rerun = yield from rerun_flow(cloud, previous)
    finally:  # also when a cancellation arrives just after the lock was taken
        if claim.is_locked:
            claim.release()
    if rerun is None:
        logger.warning("dbt Cloud run %s did not fail (%s): there is nothing to rerun", previous["id"],
                       human(previous))
        return previous
    if wait is None:
        return rerun
    found, earlier = yield from retry_inputs(cloud, previous, found, observers)
    observers = dataclasses.replace(observers, retry_of=found, retried_run=int(previous["id"]), previous=earlier)
    return (yield from observed_wait_flow(cloud, rerun, wait, observers))
