"""``DbtNodeTrigger``: a node task's wait, in Airflow's triggerer — no worker slot, no worker process.

It reads the build's progress board every ``poll_interval`` seconds (and asks Airflow for the producer task's
state now and then) until :func:`~dbt_kickoff.integrations.airflow.verdict.decide` says what the task's nodes
came to. Then it ends the task itself: ``TaskSuccessEvent`` or ``TaskFailedEvent`` with the results as XCom
(``dbt_results``) and one log line per node; only a node the task must build again (a retry) sends the task back
to a worker (a plain event, to ``execute_complete``).

Started straight from the triggerer (``start_from_trigger``), it learns its DAG run and try from the task
instance the triggerer gives it; deferred from a worker, it carries them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from airflow.triggers.base import BaseTrigger, TaskFailedEvent, TaskSuccessEvent, TriggerEvent

from dbt_kickoff.integrations.airflow.board import Board, board_folder
from dbt_kickoff.integrations.airflow.verdict import DONE, FAIL, WAIT, Verdict, decide

XCOM_KEY = "dbt_results"
AIRFLOW_STATE_EVERY = 15.0
"""Seconds between two questions to Airflow about the producer's state while it builds (the board answers the
rest); once the board says the producer ended, every ``AIRFLOW_STATE_ENDED`` seconds."""
AIRFLOW_STATE_ENDED = 5.0


def producer_state(dag_id: str, run_id: str, task_id: str) -> str | None:
    """The producer task's state as Airflow has it (``"none"`` before it was scheduled), or ``None`` when Airflow
    cannot be asked here."""
    try:
        from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

        states = RuntimeTaskInstance.get_task_states(dag_id=dag_id, task_ids=[task_id], run_ids=[run_id])
    except Exception:
        return None
    by_task = states.get(run_id) or {}
    if task_id not in by_task:
        return None
    state = by_task[task_id]
    return "none" if state is None else str(getattr(state, "value", state))


class DbtNodeTrigger(BaseTrigger):
    """Waits for the nodes ``unique_ids`` on the board of ``board_root`` / the DAG run / ``group`` (see the module
    docstring)."""

    def __init__(
        self,
        *,
        board_root: str,
        group: str,
        unique_ids: Sequence[str],
        producer_task_id: str,
        poll_interval: float = 2.0,
        storage_options: Mapping[str, Any] | None = None,
        dag_id: str | None = None,
        run_id: str | None = None,
        try_number: int | None = None,
    ) -> None:
        super().__init__()
        self.board_root = board_root
        self.group = group
        self.unique_ids = list(unique_ids)
        self.producer_task_id = producer_task_id
        self.poll_interval = poll_interval
        self.storage_options = dict(storage_options or {})
        self.dag_id = dag_id
        self.run_id = run_id
        self.try_number = try_number

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "board_root": self.board_root,
                "group": self.group,
                "unique_ids": self.unique_ids,
                "producer_task_id": self.producer_task_id,
                "poll_interval": self.poll_interval,
                "storage_options": self.storage_options,
                "dag_id": self.dag_id,
                "run_id": self.run_id,
                "try_number": self.try_number,
            },
        )

    def _where(self) -> tuple[str, str, int]:
        ti = getattr(self, "task_instance", None)
        dag_id = self.dag_id or getattr(ti, "dag_id", None)
        run_id = self.run_id or getattr(ti, "run_id", None)
        try_number = self.try_number or getattr(ti, "try_number", None) or 1
        if not dag_id or not run_id:
            raise RuntimeError("DbtNodeTrigger needs its DAG run: defer it from a task, or start it from the triggerer")
        return str(dag_id), str(run_id), int(try_number)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        dag_id, run_id, try_number = self._where()
        board = Board(board_folder(self.board_root, dag_id, run_id, self.group), self.storage_options)
        airflow_state: str | None = None
        asked = 0.0
        told_waiting = False
        while True:
            snapshot = await asyncio.to_thread(board.snapshot, self.unique_ids)
            producer = snapshot.producer
            ended = producer is not None and (producer.ended or producer.stale(time.time()))
            since = time.monotonic() - asked
            if not asked or since >= (AIRFLOW_STATE_ENDED if ended else AIRFLOW_STATE_EVERY):
                airflow_state = await asyncio.to_thread(producer_state, dag_id, run_id, self.producer_task_id)
                asked = time.monotonic()
                snapshot = await asyncio.to_thread(board.snapshot, self.unique_ids)  # read after Airflow's answer
            verdict = decide(snapshot, self.unique_ids, airflow_state=airflow_state, try_number=try_number)
            if verdict.action != WAIT:
                yield self._event(verdict)
                return
            if not told_waiting:
                self.log.info("waiting for %s to build %s (producer: %s)", self.producer_task_id,
                              ", ".join(uid.rsplit(".", 1)[-1] for uid in self.unique_ids[:5]),
                              airflow_state or (producer.state if producer else "not started"))
                told_waiting = True
            await asyncio.sleep(self.poll_interval)

    def _event(self, verdict: Verdict) -> TriggerEvent:
        results = [entry.to_xcom() for entry in verdict.entries]
        for entry in verdict.entries:
            self.log.info("%s", entry.summary())
        if verdict.action == DONE:
            return TaskSuccessEvent(xcoms={XCOM_KEY: results, "return_value": results})
        if verdict.action == FAIL:
            self.log.error("%s", verdict.message)
            return TaskFailedEvent(xcoms={XCOM_KEY: results})
        self.log.info("%s", verdict.message)
        return TriggerEvent({"action": verdict.action, "message": verdict.message})
