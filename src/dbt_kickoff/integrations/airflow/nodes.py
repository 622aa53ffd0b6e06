"""The tasks of a :class:`~dbt_kickoff.integrations.airflow.DbtKickoffTaskGroup`: the producer, which runs the
build, and one node task per dbt node, which reflects it (see :mod:`.node_trigger`, :mod:`.verdict`)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from airflow.sdk import Asset, AssetAlias, BaseOperator
from airflow.sdk.exceptions import AirflowException, AirflowRescheduleException
from airflow.triggers.base import StartTriggerArgs

import dbt_kickoff
from dbt_kickoff.engines import EventHandler
from dbt_kickoff.errors import DbtCancelled, DBTProcessingError
from dbt_kickoff.integrations.airflow.board import Board, NodeEntry, board_folder
from dbt_kickoff.integrations.airflow.connections import connection_destination
from dbt_kickoff.integrations.airflow.node_trigger import XCOM_KEY, DbtNodeTrigger, producer_state
from dbt_kickoff.integrations.airflow.producer import (
    BuildSpec,
    RenderedNode,
    build_lock,
    lock_key,
    produce,
    rebuild,
)
from dbt_kickoff.integrations.airflow.verdict import DONE, FAIL, REBUILD, RUNNING_STATES, WAIT, Verdict, decide
from dbt_kickoff.results import NodeResult
from dbt_kickoff.runner import PackageRunner

RESCHEDULE_SECONDS = 5.0
"""How long a node task in a worker waits before it looks again when the producer has not started yet."""


@dataclass(frozen=True)
class RunnerSpec:
    """How a task of the group makes its runner: the package, the destination (an Airflow connection, fetched
    again for each dbt command, or anything :func:`dbt_kickoff.package` takes) and the package options."""

    package_location: str
    conn_id: str | None = None
    destination: Any = None
    dbt_version: str | None = None
    package_options: Mapping[str, Any] = field(default_factory=dict)

    def make(self, on_event: EventHandler) -> PackageRunner:
        destination: Any = connection_destination(self.conn_id) if self.conn_id else self.destination
        venv = None
        if self.dbt_version:
            first = destination() if callable(destination) else destination
            venv = dbt_kickoff.get_venv(first, dbt_version=self.dbt_version)
        return dbt_kickoff.package(destination, self.package_location, venv=venv, on_event=on_event,
                                   warm_start=False, **self.package_options)


@dataclass(frozen=True)
class Progress:
    """Where the group's boards and build locks live."""

    root: str
    storage_options: Mapping[str, Any] = field(default_factory=dict)
    group: str = ""

    def board(self, dag_id: str, run_id: str) -> Board:
        return Board(board_folder(self.root, dag_id, run_id, self.group), self.storage_options)

    @property
    def lock_folder(self) -> Path:
        if "://" not in self.root or self.root.startswith("file://"):
            return Path(self.root.removeprefix("file://")).expanduser() / ".locks"
        import platformdirs

        return Path(platformdirs.user_cache_dir("dbt-kickoff")) / "locks" / "airflow"


@dataclass(frozen=True)
class GroupSpec:
    """What every task of a group shares: how to make the runner, where the board and the lock live, the node
    set the lock is named after, the build's vars, the alias its assets are emitted through."""

    runner: RunnerSpec
    progress: Progress
    lock_nodes: tuple[str, ...]
    vars: Mapping[str, Any] | None = None
    asset_alias: str | None = None

    def task_kwargs(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Operator arguments with the alias among the outlets."""
        if self.asset_alias:
            kwargs["outlets"] = [*(kwargs.get("outlets") or []), AssetAlias(name=self.asset_alias)]
        return kwargs


@dataclass(frozen=True)
class NodeSpec:
    """What one node task reflects (see :class:`DbtNodeOperator`)."""

    unique_ids: tuple[str, ...]
    selectors: tuple[str, ...]
    names: Mapping[str, tuple[str, str]]
    primary: str
    relation: tuple[str, ...] | None
    producer_task_id: str
    retry_downstream: bool = False
    poll_interval: float = 2.0


class _GroupTask(BaseOperator):
    """What the producer and the node tasks share: the runner they make, the board, the lock. (No ``__init__``
    here: each level of constructors costs every task of a big DAG its share of the parse.)"""

    ui_color = "#ff694a"
    group: GroupSpec
    _runner: PackageRunner | None = None

    @property
    def progress(self) -> Progress:
        return self.group.progress

    def on_kill(self) -> None:
        """Stop the running dbt command (SIGINT: its queries are cancelled; grace; kill)."""
        runner = self._runner
        if runner is not None:
            self.log.info("task killed: cancelling dbt")
            runner.cancel("the task was stopped")

    def _make_runner(self, on_event: EventHandler) -> PackageRunner:
        self._runner = self.group.runner.make(on_event)
        return self._runner

    def _lock(self, context: Any) -> Callable[[PackageRunner], contextlib.AbstractContextManager[None]]:
        ti = context["ti"]
        holder = f"{ti.dag_id} / {ti.run_id} / {ti.task_id} (try {ti.try_number})"

        def lock(runner: PackageRunner) -> contextlib.AbstractContextManager[None]:
            identity = runner.record_identity(self.group.vars or None)
            key = lock_key(identity.project_name, identity.target_key, self.group.lock_nodes)
            return build_lock(self.progress.lock_folder, key, holder, self.log)

        return lock

    def _emit_assets(self, context: Any, entries: Sequence[tuple[NodeEntry, tuple[str, ...] | None]]) -> None:
        if not self.group.asset_alias or self._runner is None:
            return
        profile = self._runner.profile
        kind = profile.destination_type if profile else "dbt"
        events = context["outlet_events"][AssetAlias(name=self.group.asset_alias)]
        for entry, relation in entries:
            if relation is None or entry.status != "success":
                continue
            parts = [part.lower() for part in relation if part]
            events.add(Asset(name=".".join(parts), uri=f"dbt://{kind}/{'/'.join(parts)}"),
                       extra={"dbt_unique_id": entry.unique_id})


class DbtProducerOperator(_GroupTask):
    """Runs the group's build with one dbt process (see :func:`.producer.produce`) and tells the board about
    every node as dbt finishes it. XCom ``dbt_results``: every node's result, also when dbt fails."""

    def __init__(self, *, group: GroupSpec, spec: BuildSpec, **kwargs: Any) -> None:
        super().__init__(**group.task_kwargs(kwargs))
        self.group = group
        self.spec = spec

    def execute(self, context: Any) -> list[dict[str, Any]]:
        ti = context["ti"]
        board = self.progress.board(ti.dag_id, ti.run_id)
        nodes = _node_tasks(self)
        rendered = [RenderedNode(uid, *task.node.names.get(uid, (uid.rsplit(".", 1)[-1], uid.split(".")[0])))
                    for task in nodes for uid in task.node.unique_ids]
        final = ti.try_number > int(getattr(ti, "max_tries", 0) or 0)
        try:
            results = produce(board, make_runner=self._make_runner, spec=self.spec, rendered=rendered,
                              attempt=ti.try_number, final=final, lock=self._lock(context), log=self.log)
        except (DBTProcessingError, DbtCancelled) as exc:
            partial = exc.run_results if isinstance(exc, DBTProcessingError) else exc.results
            ti.xcom_push(key=XCOM_KEY, value=_compact(partial))
            raise
        compact = _compact(results)
        ti.xcom_push(key=XCOM_KEY, value=compact)
        snapshot = board.snapshot([task.node.primary for task in nodes if task.node.relation is not None])
        self._emit_assets(context, [(entry, task.node.relation) for task in nodes
                                    if (entry := snapshot.current(task.node.primary)) is not None])
        return compact


class DbtNodeOperator(_GroupTask):
    """Reflects dbt nodes of the producer's build (``node.unique_ids``): it starts in the triggerer, where
    :class:`.node_trigger.DbtNodeTrigger` waits for their results and ends the task; a task that must build its
    nodes again (a retry, a clear) does so in a worker, with ``retry(record, select=...)`` on the build's record.
    ``node.retry_downstream``: such a rebuild takes what the group renders downstream of the task along."""

    start_from_trigger = True

    def __init__(self, *, group: GroupSpec, node: NodeSpec, **kwargs: Any) -> None:
        super().__init__(**group.task_kwargs(kwargs))
        self.group = group
        self.node = node
        self.start_trigger_args = StartTriggerArgs(
            trigger_cls=f"{DbtNodeTrigger.__module__}.{DbtNodeTrigger.__qualname__}",
            trigger_kwargs=self._trigger_kwargs(),
            next_method="execute_complete",
            next_kwargs=None,
            timeout=None,
        )

    def _trigger_kwargs(self, **where: Any) -> dict[str, Any]:
        node, progress = self.node, self.group.progress
        return {"board_root": progress.root, "group": progress.group, "unique_ids": list(node.unique_ids),
                "producer_task_id": node.producer_task_id, "poll_interval": node.poll_interval,
                "storage_options": dict(progress.storage_options), **where}

    # -- in a worker ----------------------------------------------------------------------------------------------
    def execute(self, context: Any) -> list[dict[str, Any]] | None:
        """Look once; wait in the triggerer while the producer runs, or come back later while it has not started
        (so a task never holds a worker slot, nor blocks ``airflow dags test``, waiting for it)."""
        ti = context["ti"]
        node = self.node
        state = producer_state(ti.dag_id, ti.run_id, node.producer_task_id)
        board = self.progress.board(ti.dag_id, ti.run_id)
        verdict = decide(board.snapshot(node.unique_ids), node.unique_ids, airflow_state=state,
                         try_number=ti.try_number)
        if verdict.action == WAIT:
            if state in RUNNING_STATES:
                self.defer(trigger=DbtNodeTrigger(**self._trigger_kwargs(dag_id=ti.dag_id, run_id=ti.run_id,
                                                                         try_number=ti.try_number)),
                           method_name="execute_complete")
            self.log.info("the producer %s has not started (%s): looking again in %ss", node.producer_task_id,
                          state, RESCHEDULE_SECONDS)
            raise AirflowRescheduleException(datetime.now(timezone.utc) + timedelta(seconds=RESCHEDULE_SECONDS))
        return self._conclude(context, verdict)

    def execute_complete(self, context: Any, event: Mapping[str, Any]) -> list[dict[str, Any]] | None:
        """Back from the trigger: a rebuild to run here (or, under ``airflow dags test``, the trigger's end)."""
        if event.get("action") == REBUILD:
            self.log.info("%s", event.get("message"))
            return self._rebuild(context)
        state = event.get("task_instance_state")
        results = list((event.get("xcoms") or {}).get(XCOM_KEY) or [])
        context["ti"].xcom_push(key=XCOM_KEY, value=results)
        if str(state) == "success":
            return results
        raise AirflowException("; ".join(f"{r.get('name')}: {r.get('status')} {r.get('message') or ''}".strip()
                                         for r in results) or "the producer did not build these nodes")

    def _conclude(self, context: Any, verdict: Verdict) -> list[dict[str, Any]] | None:
        for entry in verdict.entries:
            self.log.info("%s", entry.summary())
        if verdict.action == REBUILD:
            self.log.info("%s", verdict.message)
            return self._rebuild(context)
        results = [entry.to_xcom() for entry in verdict.entries]
        context["ti"].xcom_push(key=XCOM_KEY, value=results)
        if verdict.action == DONE:
            return results
        assert verdict.action == FAIL
        raise AirflowException(verdict.message)

    def _rebuild(self, context: Any) -> list[dict[str, Any]]:
        ti = context["ti"]
        board = self.progress.board(ti.dag_id, ti.run_id)
        node = self.node
        selectors = list(node.selectors)
        if node.retry_downstream:
            selectors += [s for task in _node_tasks(self) for s in task.node.selectors]
        try:
            rebuild(board, make_runner=self._make_runner, selectors=list(dict.fromkeys(selectors)),
                    by=f"{ti.task_id} (try {ti.try_number})", lock=self._lock(context),
                    vars=self.group.vars or None, log=self.log)
        except (DBTProcessingError, DbtCancelled) as exc:
            self.log.error("%s", exc)
        snapshot = board.snapshot(node.unique_ids)
        entries = [entry for uid in node.unique_ids if (entry := snapshot.current(uid)) is not None]
        for entry in entries:
            self.log.info("%s", entry.summary())
        results = [entry.to_xcom() for entry in entries]
        ti.xcom_push(key=XCOM_KEY, value=results)
        bad = [entry for entry in entries if not entry.ok]
        if bad or len(entries) != len(node.unique_ids):
            raise AirflowException("; ".join(entry.summary() for entry in bad) or "the rebuild left nodes unbuilt")
        self._emit_assets(context, [(entry, node.relation if entry.unique_id == node.primary else None)
                                    for entry in entries])
        return results


def _node_tasks(task: _GroupTask) -> list[DbtNodeOperator]:
    """The node tasks of ``task``'s group downstream of it (for the producer: all of the group's)."""
    return [t for t in task.get_flat_relatives(upstream=False)
            if isinstance(t, DbtNodeOperator) and t.progress == task.progress]


def _compact(results: Sequence[NodeResult]) -> list[dict[str, Any]]:
    from dbt_kickoff.integrations.airflow.results import compact_results

    return compact_results(results)


def default_progress_root(records: Any) -> str:
    """Where boards go when the group is not told: beside the run records (``<records>/.airflow``)."""
    if records in (None, True):
        from dbt_kickoff.records import default_records_root

        return str(default_records_root() / ".airflow")
    return f"{os.fspath(records).rstrip('/')}/.airflow"
