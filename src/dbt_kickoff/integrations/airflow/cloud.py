"""``DbtCloudRunOperator``: trigger a dbt Cloud job (never twice for one task and date) and wait, deferred."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

from airflow.sdk import BaseOperator

from dbt_kickoff.cloud import DbtCloud, DbtCloudRunCancelled, DbtCloudRunFailed, describe_run_failure
from dbt_kickoff.cloud.options import CLOUD_OPTIONS
from dbt_kickoff.cloud.status import RunStatus
from dbt_kickoff.engines.base import DbtEvent
from dbt_kickoff.errors import ConfigurationError, KickoffError
from dbt_kickoff.integrations.airflow.connections import cloud_credentials
from dbt_kickoff.integrations.airflow.results import compact_results, event_line, summary_lines
from dbt_kickoff.integrations.airflow.triggers import DbtCloudRunTrigger
from dbt_kickoff.validation import check as check_option

XCOM_RUN_ID_KEY = "dbt_cloud_run_id"
XCOM_RESULTS_KEY = "dbt_results"


def default_idempotency_key(context: Any) -> str:
    """``airflow:<dag_id>:<task_id>[:<map_index>]:<logical date or run id>`` — the same for every try of a task
    instance, so a retried task reattaches to the run its first try started."""
    ti = context["ti"]
    logical_date = context.get("logical_date")
    when = logical_date.isoformat() if logical_date is not None else context["run_id"]
    map_index = getattr(ti, "map_index", -1)
    mapped = f":{map_index}" if map_index is not None and map_index >= 0 else ""
    return f"airflow:{ti.dag_id}:{ti.task_id}{mapped}:{when}"


class DbtCloudRunOperator(BaseOperator):
    """Trigger dbt Cloud job ``job_id`` with the credentials of Airflow connection ``conn_id`` (type
    ``dbt_cloud``: login = account id, password = API token, host = access URL) and wait for it.

    The trigger carries an idempotency key (``idempotency_key``, default built from the DAG, task and logical
    date, not the try number): a retried task reattaches to its run instead of starting another.
    ``deferrable=True`` waits in the triggerer (:class:`DbtCloudRunTrigger`); ``timeout`` (seconds) bounds the
    wait, and the run is cancelled past it with ``cancel_on_timeout``. A run that ends in error or cancelled
    fails the task (``raise_on_failure``). XCom: ``dbt_cloud_run_id``, and ``dbt_results`` (also the return
    value) with one compact dict per node. Killing a waiting task (``on_kill``) cancels the run.

    While it waits (in the worker or in the triggerer), each node is logged as the run's logs show it finished;
    ``fail_fast`` cancels the run at the first failing node; the run leaves a record (``records``: a folder or
    fsspec URL, ``None`` for the state folder of the machine that waits, ``False`` for none) that
    ``dbt-kickoff report`` renders.
    """

    template_fields: Sequence[str] = ("job_id", "data", "idempotency_key")
    template_fields_renderers = {"data": "json"}
    ui_color = "#ff694a"

    def __init__(
        self,
        *,
        job_id: int | str,
        conn_id: str = "dbt_cloud_default",
        data: Mapping[str, Any] | None = None,
        deferrable: bool = True,
        poll_interval: float = 10.0,
        timeout: float | None = None,
        cancel_on_timeout: bool = True,
        raise_on_failure: bool = True,
        idempotency_key: str | None = None,
        fail_fast: bool = False,
        records: str | bool | None = None,
        **kwargs: Any,
    ) -> None:
        def check(condition: bool, message: str) -> None:
            if not condition:
                raise ConfigurationError(f"DbtCloudRunOperator: {message}")

        check(isinstance(job_id, (int, str)) and not isinstance(job_id, bool),
              f"job_id must be a dbt Cloud job id (int or str), not {type(job_id).__name__}")
        check(isinstance(conn_id, str),
              f"conn_id must be the id of an Airflow connection, not {type(conn_id).__name__}")
        options = {"data": data, "poll_interval": poll_interval, "timeout": timeout,
                   "cancel_on_timeout": cancel_on_timeout, "raise_on_failure": raise_on_failure,
                   "idempotency_key": idempotency_key, "fail_fast": fail_fast, "records": records}
        for name, value in options.items():  # the specs every dbt Cloud entry point uses
            check_option(CLOUD_OPTIONS, name, value, where="DbtCloudRunOperator")
        super().__init__(**kwargs)
        self.job_id = job_id
        self.conn_id = conn_id
        self.data = dict(data or {})
        self.deferrable = deferrable
        self.poll_interval = float(poll_interval)
        self.timeout = None if timeout is None or math.isinf(timeout) else float(timeout)
        self.cancel_on_timeout = cancel_on_timeout
        self.raise_on_failure = raise_on_failure
        self.idempotency_key = idempotency_key
        self.fail_fast = fail_fast
        self.records = records
        self._run_id: int | None = None

    def execute(self, context: Any) -> list[dict[str, Any]] | None:
        key = self.idempotency_key or default_idempotency_key(context)
        started = time.time()
        with self._cloud() as cloud:
            run = cloud.trigger(self.job_id, self.data or None, idempotency_key=key)
            self._run_id = int(run["id"])
            context["ti"].xcom_push(key=XCOM_RUN_ID_KEY, value=self._run_id)
            self.log.info("dbt Cloud run %s (%s): %s", run["id"], run.get("status_humanized"), run.get("href"))
            if not self.deferrable and not RunStatus.of(run).is_terminal:
                run = cloud.wait(run, poll_interval=self.poll_interval, timeout=self.timeout,
                                 cancel_on_timeout=self.cancel_on_timeout, raise_on_failure=False,
                                 just_triggered=True, on_event=self._log_node, fail_fast=self.fail_fast,
                                 idempotency_key=key)
            if RunStatus.of(run).is_terminal:
                return self._finish(context, cloud, run)
        self.defer(
            trigger=DbtCloudRunTrigger(
                conn_id=self.conn_id,
                run_id=self._run_id,
                poll_interval=self.poll_interval,
                end_time=None if self.timeout is None else started + self.timeout,
                cancel_on_timeout=self.cancel_on_timeout,
                fail_fast=self.fail_fast,
                idempotency_key=key,
                records=self.records,
            ),
            method_name="execute_complete",
        )
        return None

    def execute_complete(self, context: Any, event: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Resume after the trigger fired: fail on a timeout or an error, else report the run's nodes."""
        self._run_id = int(event["run_id"])
        if event["status"] in {"timeout", "failed_to_wait"}:
            raise KickoffError(f"dbt Cloud run {self._run_id}: {event.get('message') or event['status']}")
        with self._cloud() as cloud:
            return self._finish(context, cloud, cloud.get_run(self._run_id, ("run_steps",)))

    def on_kill(self) -> None:
        """Cancel the dbt Cloud run this task started (when it is known)."""
        if self._run_id is None:
            return
        self.log.info("task killed: cancelling dbt Cloud run %s", self._run_id)
        with self._cloud() as cloud:
            cloud.cancel(self._run_id)

    def _cloud(self) -> DbtCloud:
        return DbtCloud(cloud_credentials(self.conn_id), records=self.records)

    def _log_node(self, event: DbtEvent) -> None:
        line = event_line(event)
        if line is not None:
            self.log.info("%s", line)

    def _finish(self, context: Any, cloud: DbtCloud, run: dict[str, Any]) -> list[dict[str, Any]]:
        results = cloud.node_results(run)
        for line in summary_lines(results):
            self.log.info("%s", line)
        compact = compact_results(results)
        context["ti"].xcom_push(key=XCOM_RESULTS_KEY, value=compact)
        status = RunStatus.of(run)
        self.log.info("dbt Cloud run %s finished: %s (%s)", run["id"], status.humanized, run.get("href"))
        if status != RunStatus.SUCCESS and self.raise_on_failure:
            error = DbtCloudRunCancelled if status == RunStatus.CANCELLED else DbtCloudRunFailed
            raise error(describe_run_failure(run), run)
        return compact
