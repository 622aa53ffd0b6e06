"""One runner call (or one dbt Cloud run's wait) in a background thread, its live dbt events handed to the calling
thread as they arrive.

Orchestrators run a task's code in one thread and interrupt it there (Dagster's run termination, Prefect's
timeouts and cancellation). :class:`LiveRun` lets that thread report each node as it finishes, and turns any
interruption of it (any ``BaseException``, including a consumer that stops iterating) into
``runner.cancel()`` before the interruption propagates, so no dbt process outlives the task.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from dbt_kickoff.cloud import DbtCloud
from dbt_kickoff.engines import DbtEvent, EventHandler
from dbt_kickoff.errors import DbtCancelled, DBTProcessingError
from dbt_kickoff.results import NodeResult
from dbt_kickoff.runner import PackageRunner

_DONE = object()


class LiveRun:
    """Runs ``call(runner)`` on a runner made by ``make_runner(on_event)`` and streams the events.

    Iterate :meth:`events` to drive the run; afterwards :meth:`outcome` returns the call's results or raises its
    error (``DBTProcessingError`` and friends, unchanged).
    """

    def __init__(
        self,
        make_runner: Callable[[EventHandler], PackageRunner],
        call: Callable[[PackageRunner], list[NodeResult]],
        *,
        poll_seconds: float = 0.2,
    ) -> None:
        self._queue: queue.Queue[object] = queue.Queue()
        self.runner = make_runner(self._queue.put)
        self._call = call
        self._poll = poll_seconds
        self._results: list[NodeResult] = []
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()

    def events(self) -> Iterator[DbtEvent]:
        """Start the call and yield its events until it ends; an interruption cancels dbt, then propagates."""
        if self._thread is not None:
            raise RuntimeError("a LiveRun runs once")
        self._thread = threading.Thread(target=self._work, name="dbt-kickoff-live", daemon=True)
        self._thread.start()
        try:
            while True:
                try:  # a short poll keeps this thread responsive to injected exceptions (timeouts)
                    item = self._queue.get(timeout=self._poll)
                except queue.Empty:
                    continue
                if item is _DONE:
                    break
                assert isinstance(item, DbtEvent)
                yield item
        except BaseException:
            self._stopped.set()
            self.runner.cancel("the orchestrator stopped the task")
            while self._thread.is_alive():
                self._thread.join(timeout=self._poll)
                if self.runner.session.cancel_reason is None:  # its call began after the cancel: stop it too
                    self.runner.cancel("the orchestrator stopped the task")
            raise
        self._thread.join()

    def outcome(self) -> list[NodeResult]:
        """The call's node results, or its exception raised again."""
        if self._error is not None:
            raise self._error
        return self._results

    def finished(self) -> list[NodeResult]:
        """The node results of what finished, also when the call failed or was stopped."""
        if isinstance(self._error, DBTProcessingError):
            return self._error.run_results
        if isinstance(self._error, DbtCancelled):
            return self._error.results
        return self._results

    def _work(self) -> None:
        try:
            if self._stopped.is_set():
                raise DbtCancelled("stopped before dbt started")
            self._results = self._call(self.runner)
        except BaseException as exc:  # handed to the caller's thread by outcome()
            self._error = exc
        finally:
            self._queue.put(_DONE)


class LiveCloudRun:
    """A dbt Cloud job run, waited for in a background thread, its node events handed to the calling thread as
    the run's logs show them (see :class:`LiveRun`). The run is triggered in the calling thread (with
    ``idempotency_key``, so a retried step reattaches to it); any interruption of that thread cancels the run
    before it propagates. ``make_cloud`` makes a :class:`~dbt_kickoff.cloud.DbtCloud` (one per thread)."""

    def __init__(
        self,
        make_cloud: Callable[[], DbtCloud],
        job_id: int,
        data: Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
        poll_interval: float = 10.0,
        timeout: float | None = None,
        fail_fast: bool = False,
        poll_seconds: float = 0.2,
    ) -> None:
        self._make_cloud = make_cloud
        self._job_id = job_id
        self._data = data
        self._key = idempotency_key
        self._wait = {"poll_interval": poll_interval, "timeout": timeout, "fail_fast": fail_fast}
        self._poll = poll_seconds
        self._queue: queue.Queue[object] = queue.Queue()
        self._run: dict[str, Any] | None = None
        self._error: BaseException | None = None

    def events(self) -> Iterator[DbtEvent]:
        """Trigger the run, then yield its node events until it ends; an interruption cancels the run."""
        with self._make_cloud() as cloud:
            run = cloud.trigger(self._job_id, self._data, idempotency_key=self._key)
        thread = threading.Thread(target=self._work, args=(run,), name="dbt-kickoff-live-cloud", daemon=True)
        thread.start()
        try:
            while True:
                try:
                    item = self._queue.get(timeout=self._poll)
                except queue.Empty:
                    continue
                if item is _DONE:
                    break
                assert isinstance(item, DbtEvent)
                yield item
        except BaseException:  # the waiting thread sees the run cancelled and ends by itself (a daemon)
            with self._make_cloud() as cloud:
                cloud.cancel(int(run["id"]))
            raise
        thread.join()

    def outcome(self) -> dict[str, Any]:
        """The finished run, or the wait's exception (``DbtCloudRunFailed``…) raised again."""
        if self._error is not None:
            raise self._error
        assert self._run is not None, "outcome() before events() ended"
        return self._run

    def _work(self, run: dict[str, Any]) -> None:
        try:
            with self._make_cloud() as cloud:
                self._run = cloud.wait(run, just_triggered=True, on_event=self._queue.put,
                                       idempotency_key=self._key, **self._wait)  # type: ignore[arg-type]
        except BaseException as exc:  # handed to the caller's thread by outcome()
            self._error = exc
        finally:
            self._queue.put(_DONE)
