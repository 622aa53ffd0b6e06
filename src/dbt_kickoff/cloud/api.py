"""The two entry points of the public contract, call-compatible with dlt's ``dlt.helpers.dbt_cloud``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from dbt_kickoff.cloud.client import RetryPolicy
from dbt_kickoff.cloud.clock import Clock
from dbt_kickoff.cloud.options import CLOUD_OPTIONS
from dbt_kickoff.cloud.runs import DbtCloud
from dbt_kickoff.engines.base import DbtEvent
from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.validation import unchecked, validated


@validated(CLOUD_OPTIONS)
def run_dbt_cloud_job(
    credentials: Any = None,
    job_id: int | str | None = None,
    data: Mapping[str, Any] | None = None,
    wait_for_outcome: bool = True,
    wait_seconds: float = 10,
    *,
    timeout: float | None = None,
    cancel_on_timeout: bool = False,
    raise_on_failure: bool = True,
    idempotency_key: str | None = None,
    attach_to_running: bool = False,
    rerun_from_failure: bool = False,
    on_poll: Callable[[dict[str, Any]], None] | None = None,
    http_timeout: float = 30.0,
    retry: RetryPolicy | None = None,
    clock: Clock | None = None,
    state_dir: Path | str | None = None,
    cancel_on_stop: bool = False,
    on_event: Callable[[DbtEvent], None] | None = None,
    fail_fast: bool = False,
    records: str | Path | bool | None = None,
    openlineage: Any = None,
) -> dict[str, Any]:
    """Trigger a dbt Cloud job run and return the run as dbt Cloud describes it.

    ``credentials``: ``None`` (read ``DBT_CLOUD__API_TOKEN``, ``DBT_CLOUD__ACCOUNT_ID``,
    ``DBT_CLOUD__JOB_ID``, ``DBT_CLOUD__BASE_URL``) or an object/mapping with ``api_token``, ``account_id``,
    ``job_id``, ``base_url``.
    ``data``: the trigger body's optional fields (``git_sha``, ``git_branch``, ``schema_override``,
    ``steps_override``, ``threads_override``…); ``cause`` defaults to a useful text.
    With ``wait_for_outcome`` the run is polled every ``wait_seconds`` until it finishes; a run that ends in
    error raises ``DbtCloudRunFailed`` (``DbtCloudRunCancelled`` when cancelled), naming the failing step with
    the tail of its logs, unless ``raise_on_failure=False``. ``timeout`` bounds the wait (``None``: no limit):
    past it ``DbtCloudWaitTimeout`` is raised, after cancelling the run when ``cancel_on_timeout``.
    ``idempotency_key``, ``attach_to_running`` and ``rerun_from_failure``: see :meth:`DbtCloud.trigger`.
    ``cancel_on_stop``: when the wait is stopped from outside (KeyboardInterrupt, SystemExit, a task
    cancellation, an orchestrator's interrupt), cancel the run, then let that exception propagate unchanged.
    ``clock`` (a :class:`~dbt_kickoff.cloud.Clock`, e.g. the emulator's ``FakeClock``) replaces real time for
    tests. Every number is checked before any request (:class:`~dbt_kickoff.errors.ConfigurationError` naming
    the option).
    ``on_event`` receives each node's start and end as the run goes (the Core runner's event types);
    ``fail_fast`` cancels the run at its first failing node; ``records`` is where the run's record goes (a folder
    or fsspec URL; ``None``: under the state folder; ``False``: none); ``openlineage`` emits its OpenLineage
    events. See :meth:`DbtCloud.wait`.
    """
    # checked here once: the runner's own entry points are called without their checks
    with unchecked(DbtCloud)(
        credentials, http_timeout=http_timeout, retry=retry, clock=clock, state_dir=state_dir, records=records,
        openlineage=openlineage,
    ) as cloud:
        return unchecked(cloud.run_job)(
            job_id,
            data,
            wait=wait_for_outcome,
            poll_interval=wait_seconds,
            timeout=timeout,
            cancel_on_timeout=cancel_on_timeout,
            raise_on_failure=raise_on_failure,
            idempotency_key=idempotency_key,
            attach_to_running=attach_to_running,
            rerun_from_failure=rerun_from_failure,
            on_poll=on_poll,
            cancel_on_stop=cancel_on_stop,
            on_event=on_event,
            fail_fast=fail_fast,
        )


@validated(CLOUD_OPTIONS)
def get_dbt_cloud_run_status(
    credentials: Any = None,
    run_id: int | str | None = None,
    wait_for_outcome: bool = True,
    wait_seconds: float = 10,
    *,
    timeout: float | None = None,
    cancel_on_timeout: bool = False,
    raise_on_failure: bool = False,
    on_poll: Callable[[dict[str, Any]], None] | None = None,
    http_timeout: float = 30.0,
    retry: RetryPolicy | None = None,
    clock: Clock | None = None,
    cancel_on_stop: bool = False,
) -> dict[str, Any]:
    """Return an existing run as dbt Cloud describes it, waiting for it to finish with ``wait_for_outcome``.

    A failed or cancelled run is returned as is (a status is an answer) unless ``raise_on_failure=True``;
    ``timeout``/``cancel_on_timeout``/``cancel_on_stop`` work as in :func:`run_dbt_cloud_job`. ``run_id``
    defaults to the credentials' ``run_id`` when they carry one. A status read leaves no run record.
    """
    # checked here once (the credentials' run_id by resolve_credentials): the runner's entry points are called
    # without their checks
    with unchecked(DbtCloud)(credentials, http_timeout=http_timeout, retry=retry, clock=clock, records=False) as cloud:
        chosen = run_id if run_id not in (None, "") else cloud.credentials.run_id
        if chosen is None:
            raise ConfigurationError("no dbt Cloud run id: pass run_id")
        run = unchecked(cloud.get_run)(chosen)
        if not wait_for_outcome:
            return run
        return unchecked(cloud.wait)(
            run,
            poll_interval=wait_seconds,
            timeout=timeout,
            cancel_on_timeout=cancel_on_timeout,
            raise_on_failure=raise_on_failure,
            on_poll=on_poll,
            cancel_on_stop=cancel_on_stop,
        )
