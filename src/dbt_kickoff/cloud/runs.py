"""The sync dbt Cloud runner :class:`DbtCloud`: trigger (never twice), wait (with node events, ``fail_fast``, a
run record and OpenLineage), status, cancel, rerun from failure, retry, attach and reattach, results, job lookup
by names.

An I/O shell: the logic lives in :mod:`.trigger`, :mod:`.wait`, :mod:`.watch`, :mod:`.rerun`, :mod:`.observed`,
:mod:`.artifacts` and :mod:`.jobs`, shared with :class:`~dbt_kickoff.cloud.async_runs.AsyncDbtCloud`. Names formerly
defined here are re-exported.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from dbt_kickoff.cloud.artifacts import download_flow, node_results_flow
from dbt_kickoff.cloud.base import CloudBase, run_id_of
from dbt_kickoff.cloud.client import DbtCloudClient, RetryPolicy
from dbt_kickoff.cloud.clock import Clock
from dbt_kickoff.cloud.credentials import resolve_credentials
from dbt_kickoff.cloud.flows import run_flow
from dbt_kickoff.cloud.jobs import find_job_flow
from dbt_kickoff.cloud.observed import Observers, WaitOptions, observed_wait_flow, record_settings, retry_flow
from dbt_kickoff.cloud.options import CLOUD_OPTIONS
from dbt_kickoff.cloud.trigger import (
    DEFAULT_CAUSE,
    MAX_CAUSE_LENGTH,
    RECONCILE_WINDOW,
    TRIGGER_FIELDS,
    TriggerPlan,
    build_trigger_body,
    plan_trigger,
    trigger_flow,
    with_marker,
)
from dbt_kickoff.cloud.wait import (
    CANCEL_SETTLE_POLLS,
    DEFAULT_POLL_INTERVAL,
    LOG_TAIL_LINES,
    MAX_FAILED_POLLS,
    OnPoll,
    describe_run_failure,
)
from dbt_kickoff.cloud.watch import EventHandler
from dbt_kickoff.records.recorder import DEFAULT_KEEP_LAST, RecordSettings
from dbt_kickoff.results import NodeResult
from dbt_kickoff.validation import unchecked, validated_methods

__all__ = [
    "CANCEL_SETTLE_POLLS",
    "DEFAULT_CAUSE",
    "DEFAULT_POLL_INTERVAL",
    "LOG_TAIL_LINES",
    "MAX_CAUSE_LENGTH",
    "MAX_FAILED_POLLS",
    "RECONCILE_WINDOW",
    "TRIGGER_FIELDS",
    "DbtCloud",
    "build_trigger_body",
    "describe_run_failure",
    "with_marker",
]


@validated_methods(CLOUD_OPTIONS)
class DbtCloud(CloudBase):
    """The typed dbt Cloud runner for one account.

    >>> cloud = DbtCloud({"api_token": "...", "account_id": 1, "base_url": "ab123.us1.dbt.com"})
    >>> run = cloud.trigger(42, {"git_branch": "main"}, idempotency_key="load-2026-11-24")
    >>> run = cloud.wait(run, timeout=3600, cancel_on_timeout=True)
    >>> for node in cloud.node_results(run): print(node.model_name, node.status)

    ``clock`` may be any :class:`~dbt_kickoff.cloud.clock.Clock` (a fake one in tests, e.g. the emulator's);
    ``state_dir`` is where idempotency keys (and the node events delivered under them) are remembered (default:
    the platform's user state folder); ``secrets`` are masked, with the token, in every message that may echo dbt
    Cloud's text (step logs).

    Like a Core runner, every wait leaves a run record (:mod:`dbt_kickoff.records.cloud`): ``records`` is a folder
    or fsspec URL (``records_options``: fsspec storage options), ``None`` for ``<state folder>/records``,
    ``False`` for none; ``keep_last`` records are kept. ``openlineage`` emits the run's OpenLineage events (see
    :mod:`dbt_kickoff.lineage`).
    """

    client: DbtCloudClient

    def __init__(
        self,
        credentials: Any = None,
        *,
        http_timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        clock: Clock | None = None,
        state_dir: Path | str | None = None,
        client: DbtCloudClient | None = None,
        secrets: Iterable[str] = (),
        records: str | Path | bool | None = None,
        keep_last: int | None = DEFAULT_KEEP_LAST,
        records_options: Mapping[str, Any] | None = None,
        openlineage: Any = None,
    ) -> None:
        resolved = resolve_credentials(credentials)
        client = client or unchecked(DbtCloudClient)(  # this constructor checked http_timeout
            resolved, timeout=http_timeout, retry=retry, clock=clock, secrets=secrets
        )
        super().__init__(resolved, client, state_dir)
        self.record_settings = RecordSettings(records=records, keep_last=keep_last,
                                              storage_options=dict(records_options or {}), openlineage=openlineage)

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> DbtCloud:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- runs ------------------------------------------------------------------------------------------------

    def get_run(self, run_id: int | str, include_related: Sequence[str] = ()) -> dict[str, Any]:
        """The run as dbt Cloud describes it."""
        return self.client.get_run(run_id_of(run_id), include_related)

    def cancel(self, run_id: int | str) -> dict[str, Any]:
        """Ask dbt Cloud to cancel a run and return it (a running run takes a while to reach status 30)."""
        return self.client.cancel_run(run_id_of(run_id))

    def trigger(
        self,
        job_id: int | str | None = None,
        data: Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
        attach_to_running: bool = False,
        rerun_from_failure: bool = False,
    ) -> dict[str, Any]:
        """Start a run of a job (or reuse one) and return it as dbt Cloud describes it.

        ``data`` holds the optional trigger fields (``git_sha``, ``schema_override``, ``steps_override``…;
        ``cause`` defaults to a useful text). A unique marker in the cause lets a trigger whose answer was
        lost be found instead of re-sent. ``idempotency_key``: a run already started with this key
        (remembered in a local file, or found by its marker) is returned instead of starting another.
        ``attach_to_running``: return the job's newest queued/running run if there is one.
        ``rerun_from_failure``: when the job's newest run failed, rerun it from the point of failure (trigger
        overrides are then ignored).
        """
        return self._start(plan_trigger(self, job_id, data, idempotency_key, attach_to_running, rerun_from_failure))

    def wait(
        self,
        run: Mapping[str, Any] | int | str,
        *,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        timeout: float | None = None,
        cancel_on_timeout: bool = False,
        raise_on_failure: bool = True,
        on_poll: OnPoll | None = None,
        just_triggered: bool = False,
        cancel_on_stop: bool = False,
        on_event: EventHandler | None = None,
        fail_fast: bool = False,
        records: str | Path | bool | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Poll a run every ``poll_interval`` seconds until it finishes; return it.

        A run that ends in error raises :class:`DbtCloudRunFailed`, a cancelled one (including one cancelled
        by dbt Cloud's own job timeout) :class:`DbtCloudRunCancelled` — unless ``raise_on_failure=False``.
        Past ``timeout`` seconds :class:`DbtCloudWaitTimeout` is raised, after cancelling the run when
        ``cancel_on_timeout``. ``just_triggered`` tolerates the brief 404 of a run dbt Cloud has just created.
        ``cancel_on_stop``: when the wait is stopped from outside (KeyboardInterrupt, SystemExit, an exception
        raised by ``on_poll`` or ``on_event`` or injected by an orchestrator), cancel the run, then let the
        exception go on.

        ``on_event`` gets the Core runner's events (:class:`~dbt_kickoff.engines.base.DbtEvent`) for each node as
        the run's logs show it started and finished, each once, named by unique id through the job's manifest;
        every poll brings the logs, so following costs no request per poll. ``fail_fast`` cancels the run at its
        first failing node (the error raised says so). ``records``: where this run's record goes (``None``: as the
        runner was made). ``idempotency_key``: the key the run was started with; a worker that reattaches with it
        after a restart goes on with the events the last one had not delivered.
        """
        observers = self._observers(on_event, fail_fast, records, idempotency_key,
                                    {"run_id": run_id_of(run), "poll_interval": poll_interval, "timeout": timeout,
                                     "fail_fast": fail_fast})
        options = WaitOptions(poll_interval, timeout, cancel_on_timeout, raise_on_failure, on_poll, just_triggered,
                              cancel_on_stop)
        return run_flow(observed_wait_flow(self, run, options, observers), self.client)

    def run_job(
        self,
        job_id: int | str | None = None,
        data: Mapping[str, Any] | None = None,
        *,
        wait: bool = True,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        timeout: float | None = None,
        cancel_on_timeout: bool = False,
        raise_on_failure: bool = True,
        idempotency_key: str | None = None,
        attach_to_running: bool = False,
        rerun_from_failure: bool = False,
        on_poll: OnPoll | None = None,
        cancel_on_stop: bool = False,
        on_event: EventHandler | None = None,
        fail_fast: bool = False,
        records: str | Path | bool | None = None,
    ) -> dict[str, Any]:
        """:meth:`trigger` then, with ``wait``, :meth:`wait` (every option is checked before the trigger)."""
        plan = plan_trigger(self, job_id, data, idempotency_key, attach_to_running, rerun_from_failure)
        run = self._start(plan)
        if not wait:
            return run
        observers = self._observers(on_event, fail_fast, records, idempotency_key,
                                    {"job_id": plan.job, "data": dict(data or {}), "poll_interval": poll_interval,
                                     "timeout": timeout, "fail_fast": fail_fast, "idempotency_key": idempotency_key})
        options = WaitOptions(poll_interval, timeout, cancel_on_timeout, raise_on_failure, on_poll, True,
                              cancel_on_stop)
        return run_flow(observed_wait_flow(self, run, options, observers), self.client)

    def retry(
        self,
        run: Mapping[str, Any] | int | str | None = None,
        *,
        record: Any = None,
        wait: bool = True,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        timeout: float | None = None,
        cancel_on_timeout: bool = False,
        raise_on_failure: bool = True,
        on_poll: OnPoll | None = None,
        cancel_on_stop: bool = False,
        on_event: EventHandler | None = None,
        fail_fast: bool = False,
        records: str | Path | bool | None = None,
    ) -> dict[str, Any]:
        """Rerun a failed run from its point of failure (dbt Cloud's rerun from failure: only what failed, was
        skipped or never ran) and, with ``wait``, wait for it; return the rerun (or, when the run did not fail,
        the run itself: there is nothing to rerun). ``run`` is a run or its id; ``record`` its run record (a
        :class:`~dbt_kickoff.records.Record`, or its folder, URL or name in ``records``) instead.

        Never a duplicate run: the rerun is remembered under the key ``dbt-kickoff-retry:<run id>`` (as
        :meth:`trigger` remembers idempotency keys), so retrying the same run again reattaches to it. Its record
        (``call`` ``cloud_retry``) merges the nodes of both runs (``retry.merged``). Wait options as :meth:`wait`.
        """
        options = WaitOptions(poll_interval, timeout, cancel_on_timeout, raise_on_failure, on_poll, True,
                              cancel_on_stop) if wait else None
        observers = self._observers(on_event, fail_fast, records, None,
                                    {"poll_interval": poll_interval, "timeout": timeout, "fail_fast": fail_fast})
        return run_flow(retry_flow(self, run, record, options, observers), self.client)

    def _observers(self, on_event: EventHandler | None, fail_fast: bool, records: Any, key: str | None,
                   params: Mapping[str, Any]) -> Observers:
        return Observers(record_settings(self.record_settings, records), self.state_dir, on_event, fail_fast, key,
                         params)

    def _start(self, plan: TriggerPlan) -> dict[str, Any]:
        """Carry out a trigger plan (of checked options); a keyed one under the ledger's claim."""
        if not plan.keyed:
            return run_flow(trigger_flow(self, plan), self.client)
        with self.ledger.claim(plan.marker):
            return run_flow(trigger_flow(self, plan), self.client)

    # -- jobs ------------------------------------------------------------------------------------------------

    def find_job(self, *, project_name: str, environment_name: str, job_name: str) -> dict[str, Any]:
        """The job named ``job_name`` in environment ``environment_name`` of project ``project_name``
        (exact names); :class:`DbtCloudLookupError` when none or several match."""
        return run_flow(find_job_flow(project_name, environment_name, job_name), self.client)

    # -- results ---------------------------------------------------------------------------------------------

    def node_results(self, run: Mapping[str, Any] | int | str) -> list[NodeResult]:
        """One :class:`NodeResult` per node the run's dbt commands executed, read from their
        ``run_results.json`` (build/run/test/seed/snapshot steps; never the docs step)."""
        found = run if isinstance(run, Mapping) else {"id": run_id_of(run)}
        return run_flow(node_results_flow(found), self.client)

    def download_artifacts(
        self,
        run: Mapping[str, Any] | int | str,
        destination: Path | str,
        *,
        step: int | None = None,
        paths: Sequence[str] | None = None,
        include_compiled: bool = False,
    ) -> list[Path]:
        """Download a run's artifacts into ``destination`` (see :func:`.artifacts.download_artifacts`)."""
        flow = download_flow(
            run_id_of(run), destination, step=step, paths=paths, include_compiled=include_compiled
        )
        return run_flow(flow, self.client)
