"""What a wait does with each poll besides reading the status: node events from the steps' logs, ``fail_fast``,
and the nodes the log window lost, read from the finished steps' artifacts.

The poll itself brings the logs (``include_related=run_steps``: each step with the last 1,000 lines of its debug
log), so following a run costs no request per poll interval. Once per wait the job's manifest is read (to name
nodes by unique id), and a finished step whose logs did not show every node has its results file read (once). What
was delivered is saved per idempotency key (:mod:`.cursors`), so a worker restarted mid-wait goes on without
delivering an event twice. The flows here are shared by the sync and async runners (see :mod:`.flows`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dbt_kickoff.cloud.base import CloudBase
from dbt_kickoff.cloud.cursors import EventCursors
from dbt_kickoff.cloud.errors import DbtCloudAPIError, DbtCloudNotFoundError
from dbt_kickoff.cloud.flows import Flow, call
from dbt_kickoff.cloud.follow import NodeUpdate, RunFollower
from dbt_kickoff.engines.base import DbtEvent
from dbt_kickoff.results import FAILURE_STATUSES

logger = logging.getLogger("dbt_kickoff.cloud.runs")

EventHandler = Callable[[DbtEvent], None]
POLL_RELATED = ("run_steps",)


@dataclass
class FailFast:
    """Why a run was cancelled by ``fail_fast`` (the first failing node)."""

    node: str
    status: str
    message: str | None

    def describe(self, run_id: int) -> str:
        said = f": {self.message.splitlines()[0]}" if self.message else ""
        return (f"fail_fast: {self.node} ended with {self.status}{said}; dbt-kickoff cancelled dbt Cloud run "
                f"{run_id} at once")


@dataclass
class RunWatch:
    """Follows one run during a wait (see the module docstring). ``marker``: the idempotency marker the run was
    started with; with it, delivered events are remembered across workers. ``files`` keeps the artifacts it
    read, ``{(step index, name): bytes}``, for the run's record."""

    cloud: CloudBase
    run_id: int
    job_id: int | None
    on_event: EventHandler | None = None
    fail_fast: bool = False
    marker: str | None = None
    files: dict[tuple[int, str], bytes] = field(default_factory=dict)
    failed_fast: FailFast | None = None
    _follower: RunFollower | None = None
    _cursors: EventCursors | None = None
    _manifest_read: bool = False
    _cancel_requested: bool = False
    _unsaved: int = 0
    polls: int = 0

    related = POLL_RELATED

    def _start(self) -> RunFollower:
        if self._follower is None:
            state = None
            if self.marker is not None:
                self._cursors = EventCursors(self.cloud.ledger.directory)
                state = self._cursors.load(self.marker, self.run_id)
            self._follower = RunFollower(self.cloud.client.scrub, state)
            if state and state.get("fail_fast"):
                self.failed_fast = FailFast(**state["fail_fast"])
        return self._follower

    def after_poll(self, run: Mapping[str, Any]) -> Flow[None]:
        """Deliver the new node events of ``run`` (a poll's answer, with its steps), then act on them. What was
        delivered is saved even when a delivery raises (the exception then goes on)."""
        self.polls += 1
        follower = self._start()
        if not self._manifest_read and follower.followed_steps(run):
            self._manifest_read = True
            follower.use_manifest((yield from self._job_manifest()))
        try:
            self._deliver(follower, follower.observe(run))
            for step, name in follower.to_fill(run):
                content = yield from self._artifact(step, name)
                self._deliver(follower, follower.fill(step, content))
                follower.close(step)
        finally:
            if self._unsaved or self.failed_fast is not None:
                self._save(follower)
        if self.failed_fast is not None and not self._cancel_sent(run):
            logger.warning("%s", self.failed_fast.describe(self.run_id))
            self._cancel_requested = True
            yield call("cancel_run", self.run_id)

    @property
    def cancelled_fast(self) -> bool:
        """True once ``fail_fast`` asked dbt Cloud to cancel the run."""
        return self._cancel_requested

    def _cancel_sent(self, run: Mapping[str, Any]) -> bool:
        return self._cancel_requested or int(run.get("status") or 0) in (10, 20, 30)

    def _deliver(self, follower: RunFollower, updates: list[NodeUpdate]) -> None:
        for update in updates:
            event = update.event
            if self.on_event is not None:
                self.on_event(event)
            follower.commit(update)
            self._unsaved += 1
            node = event.node
            if (self.fail_fast and self.failed_fast is None and event.finished and node is not None
                    and node.status in FAILURE_STATUSES):
                self.failed_fast = FailFast(f"{node.resource_type} {node.name}", node.status, node.message)

    def _save(self, follower: RunFollower) -> None:
        if self._cursors is None or self.marker is None:
            return
        self._unsaved = 0
        state = follower.to_dict()
        if self.failed_fast is not None:
            state["fail_fast"] = vars(self.failed_fast)
        try:
            self._cursors.save(self.marker, self.run_id, state)
        except OSError as exc:  # a lost cursor only risks events delivered twice after a restart
            logger.warning("could not save which node events were delivered for run %s: %s", self.run_id, exc)

    def _job_manifest(self) -> Flow[dict[str, Any] | None]:
        """The manifest of the job's latest successful run, or ``None`` (the job never succeeded...)."""
        if self.job_id is None:
            return None
        try:
            content = yield call("get_job_artifact", self.job_id, "manifest.json")
            manifest = json.loads(content)
        except DbtCloudNotFoundError:
            logger.info("job %s has no manifest yet: node events name nodes as the logs do", self.job_id)
            return None
        except (DbtCloudAPIError, ValueError, UnicodeDecodeError) as exc:
            logger.warning("could not read the manifest of job %s (%s): node events name nodes as the logs do",
                           self.job_id, exc)
            return None
        return manifest if isinstance(manifest, dict) else None

    def _artifact(self, step: int, name: str) -> Flow[bytes | None]:
        """A step's artifact (kept in :attr:`files`), or ``None`` when the step has none."""
        if (step, name) in self.files:
            return self.files[(step, name)]
        try:
            content: bytes = yield call("get_artifact", self.run_id, name, step=step)
        except DbtCloudNotFoundError:
            return None
        except DbtCloudAPIError as exc:  # the wait goes on; only these nodes' events are missing
            logger.warning("could not read %s of step %s of dbt Cloud run %s (%s): nodes the log window lost "
                           "have no event", name, step, self.run_id, exc)
            return None
        self.files[(step, name)] = content
        return content
