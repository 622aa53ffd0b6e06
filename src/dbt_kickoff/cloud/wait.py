"""Waiting for a run: polling, the caller's timeout (optionally cancelling), the run's outcome, and a wait
stopped from outside (KeyboardInterrupt, SystemExit, task cancellation…) that cancels the run on request.

The flows here are shared by the sync and async runners (see :mod:`.flows`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from typing import Any

from dbt_kickoff.cloud.base import CloudBase, human, run_id_of
from dbt_kickoff.cloud.errors import (
    DbtCloudAPIError,
    DbtCloudError,
    DbtCloudRunCancelled,
    DbtCloudRunFailed,
    DbtCloudUnavailableError,
    DbtCloudWaitTimeout,
)
from dbt_kickoff.cloud.flows import Call, Flow, Sleep, call
from dbt_kickoff.cloud.status import RunStatus
from dbt_kickoff.cloud.watch import RunWatch

logger = logging.getLogger("dbt_kickoff.cloud.runs")

DEFAULT_POLL_INTERVAL = 10.0
LOG_TAIL_LINES = 25
CANCEL_SETTLE_POLLS = 12
MAX_FAILED_POLLS = 5  # consecutive polls that may fail (each after its own retries) before a wait gives up

OnPoll = Callable[[dict[str, Any]], None]


def describe_run_failure(run: Mapping[str, Any], tail_lines: int = LOG_TAIL_LINES) -> str:
    """A message naming the run, its failing step and the tail of that step's logs."""
    status = RunStatus.of(run)
    steps = sorted(run.get("run_steps") or [], key=lambda s: int(s.get("index") or 0))
    failing = next((s for s in steps if s.get("status") == RunStatus.ERROR), None)
    if failing is None:
        failing = next((s for s in reversed(steps) if s.get("status") == RunStatus.CANCELLED), None)
    if failing is None and steps:
        failing = steps[-1]
    verb = "failed" if status == RunStatus.ERROR else "was cancelled"
    head = f"dbt Cloud run {run.get('id')} of job {run.get('job_definition_id') or run.get('job_id')} {verb}"
    if failing is not None:
        head += f" at step {failing.get('index')} ({failing.get('name')})"
    if run.get("status_message"):
        head += f": {run['status_message']}"
    lines = [head]
    if run.get("href"):
        lines.append(f"Run page: {run['href']}")
    if failing is not None:
        logs = str(failing.get("logs") or failing.get("truncated_debug_logs") or "")
        tail = [line.rstrip() for line in logs.splitlines() if line.strip()][-tail_lines:]
        if tail:
            lines.append(f"Last {len(tail)} log lines of step {failing.get('index')}:")
            lines.extend(f"  {line}" for line in tail)
    return "\n".join(lines)


def wait_flow(
    cloud: CloudBase,
    run: Mapping[str, Any] | int | str,
    *,
    poll_interval: float,
    timeout: float | None,
    cancel_on_timeout: bool,
    raise_on_failure: bool,
    on_poll: OnPoll | None,
    just_triggered: bool,
    cancel_on_stop: bool,
    watch: RunWatch | None = None,
) -> Flow[dict[str, Any]]:
    """Poll until the run finishes (options already checked by the entry point; an infinite
    ``timeout`` means none). A ``watch`` follows the run at each poll (node events, ``fail_fast``).

    A stop from outside — any exception that is not dbt Cloud's own answer (``DbtCloudError``) — cancels the
    run first when ``cancel_on_stop``, then propagates unchanged.
    """
    run_id = run_id_of(run)
    if timeout is not None and math.isinf(timeout):
        timeout = None
    try:
        current = yield from _poll(
            cloud, run, run_id, poll_interval, timeout, cancel_on_timeout, on_poll, just_triggered, watch
        )
    except (GeneratorExit, DbtCloudError):
        raise
    except BaseException as stop:
        if cancel_on_stop:
            yield from _cancel_on_stop(cloud, run_id, stop)
        raise
    if watch is not None and not watch.polls:  # it had ended before the wait began: its events are still due
        try:
            current = yield call("get_run", run_id, watch.related)
        except DbtCloudAPIError as exc:  # the outcome is known; only the node events are missing
            logger.warning("could not read the steps of dbt Cloud run %s: %s", run_id, exc)
        else:
            yield from watch.after_poll(current)
    because = None
    if watch is not None and watch.failed_fast is not None and watch.cancelled_fast:
        because = watch.failed_fast.describe(run_id)
    return (yield from finish_flow(cloud, current, raise_on_failure, because))


def _poll(
    cloud: CloudBase,
    run: Mapping[str, Any] | int | str,
    run_id: int,
    poll_interval: float,
    timeout: float | None,
    cancel_on_timeout: bool,
    on_poll: OnPoll | None,
    just_triggered: bool,
    watch: RunWatch | None,
) -> Flow[dict[str, Any]]:
    current: dict[str, Any] | None = dict(run) if isinstance(run, Mapping) else None
    related = watch.related if watch is not None else ()
    clock = cloud.clock
    start = clock.monotonic()
    deadline = None if timeout is None else start + timeout
    next_poll = start + poll_interval if current is not None else start
    not_found_retries = cloud.client.retry.not_found_retries if just_triggered else 0
    failed_polls = 0
    while current is None or not RunStatus.of(current).is_terminal:
        now = clock.monotonic()
        if current is not None and deadline is not None and now >= deadline:
            return (yield from _on_timeout(cloud, current, timeout, cancel_on_timeout, poll_interval))
        wake = next_poll if deadline is None else min(next_poll, deadline)
        if wake > now:
            yield Sleep(wake - now)
        try:
            polled_run = yield call("get_run", run_id, related, not_found_retries=not_found_retries)
        except DbtCloudUnavailableError as exc:
            failed_polls += 1  # an outage outlasting the retries; the run goes on meanwhile
            if current is None or failed_polls >= MAX_FAILED_POLLS:
                raise
            logger.warning("still waiting for dbt Cloud run %s: %s (%d poll(s) failed)", run_id, exc, failed_polls)
        else:
            current, failed_polls, not_found_retries = polled_run, 0, 0
            if on_poll is not None:
                on_poll(current)
            if watch is not None:
                yield from watch.after_poll(current)
        polled = clock.monotonic()
        next_poll = wake + poll_interval if wake + poll_interval > polled else polled + poll_interval
    return current


def _cancel_on_stop(cloud: CloudBase, run_id: int, stop: BaseException) -> Flow[None]:
    """Ask dbt Cloud to cancel the run (once, best effort); the stop itself is re-raised by the caller."""
    logger.warning("the wait for dbt Cloud run %s was stopped (%s): cancelling the run", run_id, type(stop).__name__)
    limit = cloud.client.timeout * 2 + 5
    try:
        run = yield Call("cancel_run", (run_id,), shield=limit)
    except Exception as exc:  # the stop matters more than the cancel's failure
        logger.warning("could not cancel dbt Cloud run %s after the stop: %s", run_id, exc)
    else:
        logger.warning("asked dbt Cloud to cancel run %s (now %s)", run_id, human(run))


def finish_flow(
    cloud: CloudBase, run: dict[str, Any], raise_on_failure: bool, because: str | None = None
) -> Flow[dict[str, Any]]:
    """The finished run, or :class:`DbtCloudRunFailed`/:class:`DbtCloudRunCancelled` with its failing step's
    log tail (masked with the token and every known secret); ``because`` says why we cancelled it."""
    status = RunStatus.of(run)
    if status == RunStatus.SUCCESS:
        return run
    detailed = dict(run)
    if not run.get("run_steps"):  # a poll that followed the run already brought them
        try:
            detailed = {**run, **(yield call("get_run", int(run["id"]), ("run_steps",)))}
        except DbtCloudAPIError as exc:  # the outcome is known; only the step details are missing
            logger.warning("could not read the steps of dbt Cloud run %s: %s", run["id"], exc)
    if not raise_on_failure:
        return detailed
    message = cloud.client.scrub(describe_run_failure(detailed))
    if because:
        message = f"{because}\n{message}"
    if status == RunStatus.CANCELLED:
        raise DbtCloudRunCancelled(message, detailed)
    raise DbtCloudRunFailed(message, detailed)


def _on_timeout(
    cloud: CloudBase, run: dict[str, Any], timeout: float | None, cancel: bool, poll_interval: float
) -> Flow[dict[str, Any]]:
    """The finished run when it ended before the cancel took effect, else :class:`DbtCloudWaitTimeout`."""
    run_id = int(run["id"])
    if cancel:
        logger.warning("dbt Cloud run %s still %s after %ss: cancelling it", run_id, human(run), timeout)
        run = yield call("cancel_run", run_id)
        settle = min(poll_interval, 5.0)
        for _ in range(CANCEL_SETTLE_POLLS):
            if RunStatus.of(run).is_terminal:
                break
            yield Sleep(settle)
            run = yield call("get_run", run_id)
        if RunStatus.of(run) in (RunStatus.SUCCESS, RunStatus.ERROR):
            return run  # it finished before the cancel took effect
    what = (
        "it was cancelled"
        if cancel and RunStatus.of(run) == RunStatus.CANCELLED
        else ("cancel was requested" if cancel else "it is still running")
    )
    where = f" ({run['href']})" if run.get("href") else ""
    raise DbtCloudWaitTimeout(
        f"dbt Cloud run {run_id}{where} did not finish within {timeout:g}s (last status {human(run)}); {what}",
        run,
        cancelled=cancel,
    )
