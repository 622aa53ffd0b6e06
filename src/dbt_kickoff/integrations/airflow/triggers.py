"""``DbtCloudRunTrigger``: waits for a dbt Cloud run in Airflow's triggerer with :class:`AsyncDbtCloud`.

It holds only ids and times (never the token: the credentials are read from the Airflow connection when it
runs), enforces its own deadline (an absolute time, so a trigger moved to another triggerer keeps it) and
cancels the run when the deadline passes, if asked.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from dbt_kickoff.cloud import AsyncDbtCloud, DbtCloudWaitTimeout
from dbt_kickoff.cloud.options import CLOUD_OPTIONS
from dbt_kickoff.cloud.status import RunStatus
from dbt_kickoff.engines.base import DbtEvent
from dbt_kickoff.errors import KickoffError
from dbt_kickoff.integrations.airflow.connections import acloud_credentials
from dbt_kickoff.integrations.airflow.results import event_line
from dbt_kickoff.validation import validated


class DbtCloudRunTrigger(BaseTrigger):
    """Poll dbt Cloud run ``run_id`` every ``poll_interval`` seconds until it finishes or ``end_time`` (epoch
    seconds, ``None``: no deadline) passes; then fire one event ``{"status", "run_id", "message"}``: the run's final
    status (``success``, ``error``, ``cancelled``), ``timeout``, or ``failed_to_wait`` (e.g. the token was
    revoked). Each node is logged as the run's logs show it finished (``idempotency_key``: the task's, so a trigger
    rebuilt elsewhere does not log a node twice); ``fail_fast`` cancels the run at the first failing node. Its
    options are checked like :class:`AsyncDbtCloud`'s, when it is made (in the task, before it defers) and again
    when the triggerer rebuilds it."""

    @validated(CLOUD_OPTIONS)
    def __init__(
        self,
        *,
        conn_id: str,
        run_id: int,
        poll_interval: float,
        end_time: float | None = None,
        cancel_on_timeout: bool = True,
        fail_fast: bool = False,
        idempotency_key: str | None = None,
        records: str | bool | None = None,
    ) -> None:
        super().__init__()
        self.conn_id = conn_id
        self.run_id = run_id
        self.poll_interval = poll_interval
        self.end_time = end_time
        self.cancel_on_timeout = cancel_on_timeout
        self.fail_fast = fail_fast
        self.idempotency_key = idempotency_key
        self.records = records

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "conn_id": self.conn_id,
                "run_id": self.run_id,
                "poll_interval": self.poll_interval,
                "end_time": self.end_time,
                "cancel_on_timeout": self.cancel_on_timeout,
                "fail_fast": self.fail_fast,
                "idempotency_key": self.idempotency_key,
                "records": self.records,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        yield TriggerEvent(await self._wait())

    async def _wait(self) -> dict[str, Any]:
        event: dict[str, Any] = {"run_id": self.run_id}
        try:
            cloud = AsyncDbtCloud(await acloud_credentials(self.conn_id), records=self.records)
        except KickoffError as exc:
            return {**event, "status": "failed_to_wait", "message": str(exc)}
        try:
            timeout = None if self.end_time is None else max(0.0, self.end_time - time.time())
            run = await cloud.wait(self.run_id, poll_interval=self.poll_interval, timeout=timeout,
                                   cancel_on_timeout=self.cancel_on_timeout, raise_on_failure=False,
                                   on_event=self._log_node, fail_fast=self.fail_fast,
                                   idempotency_key=self.idempotency_key)
        except DbtCloudWaitTimeout as exc:
            return {**event, "status": "timeout", "message": str(exc), "cancelled": exc.cancelled}
        except KickoffError as exc:
            return {**event, "status": "failed_to_wait", "message": str(exc)}
        finally:
            await cloud.aclose()
        status = RunStatus.of(run)
        return {**event, "status": status.name.lower(), "message": str(run.get("status_message") or "")}

    def _log_node(self, event: DbtEvent) -> None:
        line = event_line(event)
        if line is not None:
            self.log.info("%s", line)
