"""The async dbt Cloud runner :class:`AsyncDbtCloud`: the methods of :class:`~dbt_kickoff.cloud.runs.DbtCloud`
with the same names, arguments and guarantees, awaited (``httpx.AsyncClient``; asyncio or trio via anyio).

An I/O shell over the flows of :mod:`.trigger`, :mod:`.wait`, :mod:`.artifacts` and :mod:`.jobs`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import anyio

from dbt_kickoff.cloud.aclient import AsyncDbtCloudClient
from dbt_kickoff.cloud.artifacts import download_flow, node_results_flow
from dbt_kickoff.cloud.base import CloudBase, run_id_of
from dbt_kickoff.cloud.clock import Clock
from dbt_kickoff.cloud.credentials import resolve_credentials
from dbt_kickoff.cloud.flows import arun_flow
from dbt_kickoff.cloud.jobs import find_job_flow
from dbt_kickoff.cloud.observed import Observers, WaitOptions, observed_wait_flow, record_settings, retry_flow
from dbt_kickoff.cloud.options import CLOUD_OPTIONS
from dbt_kickoff.cloud.policy import RetryPolicy
from dbt_kickoff.cloud.trigger import TriggerPlan, plan_trigger, trigger_flow
from dbt_kickoff.cloud.wait import DEFAULT_POLL_INTERVAL, OnPoll
from dbt_kickoff.cloud.watch import EventHandler
from dbt_kickoff.records.recorder import DEFAULT_KEEP_LAST, RecordSettings
from dbt_kickoff.results import NodeResult
from dbt_kickoff.validation import unchecked, validated_methods


@validated_methods(CLOUD_OPTIONS)
class AsyncDbtCloud(CloudBase):
    """The async dbt Cloud runner for one account; use ``async with`` or ``await cloud.aclose()``.

    >>> async with AsyncDbtCloud(credentials) as cloud:
    ...     run = await cloud.trigger(42, {"git_branch": "main"}, idempotency_key="load-2026-11-24")
    ...     run = await cloud.wait(run, timeout=3600, cancel_on_timeout=True)
    ...     results = await cloud.node_results(run)

    Constructor arguments as :class:`~dbt_kickoff.cloud.runs.DbtCloud` (records, OpenLineage included: their
    files are written in a worker thread). A cancelled task
    (``asyncio.CancelledError``, an anyio cancel scope) stops a wait like any other stop: with
    ``cancel_on_stop=True`` the run is cancelled first (shielded from the cancellation), then it propagates.
    ``on_poll`` is a plain (not async) callable. Every option is checked like the sync runner's
    (:mod:`dbt_kickoff.cloud.options`), when a method is awaited and before any request.
    """

    client: AsyncDbtCloudClient

    def __init__(
        self,
        credentials: Any = None,
        *,
        http_timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        clock: Clock | None = None,
        state_dir: Path | str | None = None,
        client: AsyncDbtCloudClient | None = None,
        secrets: Iterable[str] = (),
        records: str | Path | bool | None = None,
        keep_last: int | None = DEFAULT_KEEP_LAST,
        records_options: Mapping[str, Any] | None = None,
        openlineage: Any = None,
    ) -> None:
        resolved = resolve_credentials(credentials)
        client = client or unchecked(AsyncDbtCloudClient)(  # this constructor checked http_timeout
            resolved, timeout=http_timeout, retry=retry, clock=clock, secrets=secrets
        )
        super().__init__(resolved, client, state_dir)
        self.record_settings = RecordSettings(records=records, keep_last=keep_last,
                                              storage_options=dict(records_options or {}), openlineage=openlineage)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def __aenter__(self) -> AsyncDbtCloud:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- runs ------------------------------------------------------------------------------------------------

    async def get_run(self, run_id: int | str, include_related: Sequence[str] = ()) -> dict[str, Any]:
        """The run as dbt Cloud describes it."""
        return await self.client.get_run(run_id_of(run_id), include_related)

    async def cancel(self, run_id: int | str) -> dict[str, Any]:
        """Ask dbt Cloud to cancel a run and return it (a running run takes a while to reach status 30)."""
        return await self.client.cancel_run(run_id_of(run_id))

    async def trigger(
        self,
        job_id: int | str | None = None,
        data: Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
        attach_to_running: bool = False,
        rerun_from_failure: bool = False,
    ) -> dict[str, Any]:
        """Start a run of a job (or reuse one); see :meth:`DbtCloud.trigger <dbt_kickoff.cloud.DbtCloud.trigger>`."""
        return await self._start(
            plan_trigger(self, job_id, data, idempotency_key, attach_to_running, rerun_from_failure)
        )

    async def wait(
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
        """Poll a run until it finishes (with its node events, ``fail_fast`` and its record); see
        :meth:`DbtCloud.wait <dbt_kickoff.cloud.DbtCloud.wait>`. ``on_event`` is a plain (not async) callable."""
        observers = self._observers(on_event, fail_fast, records, idempotency_key,
                                    {"run_id": run_id_of(run), "poll_interval": poll_interval, "timeout": timeout,
                                     "fail_fast": fail_fast})
        options = WaitOptions(poll_interval, timeout, cancel_on_timeout, raise_on_failure, on_poll, just_triggered,
                              cancel_on_stop)
        return await arun_flow(observed_wait_flow(self, run, options, observers), self.client)

    async def run_job(
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
        run = await self._start(plan)
        if not wait:
            return run
        observers = self._observers(on_event, fail_fast, records, idempotency_key,
                                    {"job_id": plan.job, "data": dict(data or {}), "poll_interval": poll_interval,
                                     "timeout": timeout, "fail_fast": fail_fast, "idempotency_key": idempotency_key})
        options = WaitOptions(poll_interval, timeout, cancel_on_timeout, raise_on_failure, on_poll, True,
                              cancel_on_stop)
        return await arun_flow(observed_wait_flow(self, run, options, observers), self.client)

    async def retry(
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
        """Rerun a failed run from its point of failure, never twice; see
        :meth:`DbtCloud.retry <dbt_kickoff.cloud.DbtCloud.retry>`."""
        options = WaitOptions(poll_interval, timeout, cancel_on_timeout, raise_on_failure, on_poll, True,
                              cancel_on_stop) if wait else None
        observers = self._observers(on_event, fail_fast, records, None,
                                    {"poll_interval": poll_interval, "timeout": timeout, "fail_fast": fail_fast})
        return await arun_flow(retry_flow(self, run, record, options, observers), self.client)

    def _observers(self, on_event: EventHandler | None, fail_fast: bool, records: Any, key: str | None,
                   params: Mapping[str, Any]) -> Observers:
        return Observers(record_settings(self.record_settings, records), self.state_dir, on_event, fail_fast, key,
                         params)

    async def _start(self, plan: TriggerPlan) -> dict[str, Any]:
        """Carry out a trigger plan (of checked options); a keyed one under the ledger's claim."""
        if not plan.keyed:
            return await arun_flow(trigger_flow(self, plan), self.client)
        claim = self.ledger.claim(plan.marker)  # a file lock: taken in a worker thread, not on the event loop
        try:
            await anyio.to_thread.run_sync(claim.acquire)
            return await arun_flow(trigger_flow(self, plan), self.client)
        finally:  # also when a cancellation arrives just after the thread took the lock
            if claim.is_locked:
                claim.release()

    # -- jobs ------------------------------------------------------------------------------------------------

    async def find_job(self, *, project_name: str, environment_name: str, job_name: str) -> dict[str, Any]:
        """The job named ``job_name`` in environment ``environment_name`` of project ``project_name``
        (exact names); :class:`DbtCloudLookupError` when none or several match."""
        return await arun_flow(find_job_flow(project_name, environment_name, job_name), self.client)

    # -- results ---------------------------------------------------------------------------------------------

    async def node_results(self, run: Mapping[str, Any] | int | str) -> list[NodeResult]:
        """One :class:`NodeResult` per node the run's dbt commands executed (never the docs step)."""
        found = run if isinstance(run, Mapping) else {"id": run_id_of(run)}
        return await arun_flow(node_results_flow(found), self.client)

    async def download_artifacts(
        self,
        run: Mapping[str, Any] | int | str,
        destination: Path | str,
        *,
        step: int | None = None,
        paths: Sequence[str] | None = None,
        include_compiled: bool = False,
    ) -> list[Path]:
        """Download a run's artifacts into ``destination`` (each file written atomically)."""
        flow = download_flow(
            run_id_of(run), destination, step=step, paths=paths, include_compiled=include_compiled
        )
        return await arun_flow(flow, self.client)
