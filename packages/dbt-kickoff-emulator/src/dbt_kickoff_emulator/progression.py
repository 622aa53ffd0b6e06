"""Run progression: Queued -> Starting -> Running -> terminal, by polls and by clock, plus step outcomes."""

from __future__ import annotations

from datetime import datetime

from dbt_kickoff_emulator.models import (
    CANCELLED,
    ERROR,
    NOT_STARTED,
    QUEUED,
    RUNNING,
    SETUP_STEP_COUNT,
    STARTING,
    SUCCESS,
    Run,
)
from dbt_kickoff_emulator.stepwork import advance_nodes, finish_step, start_step
from dbt_kickoff_emulator.wire import humanize_seconds

USER_CANCEL_MESSAGE = "Cancelled by user."
SCRIPTED_CANCEL_MESSAGE = "Cancelled by system."


def timeout_message(seconds: int) -> str:
    """dbt Cloud's status message for a run that exceeded its timeout."""
    return (
        f"This run timed out after running for {humanize_seconds(seconds)}, "
        f"which exceeded the configured timeout of {seconds} seconds."
    )


def final_step_index(run: Run) -> int:
    """The last step the run's script lets start (the failing step for an error outcome)."""
    total = len(run.steps)
    script = run.script
    if script.outcome == "success":
        return total
    default = SETUP_STEP_COUNT + 1 if script.outcome == "error" else total
    return max(1, min(script.failing_step or default, total))


def _elapsed(since: datetime | None, now: datetime) -> float:
    return 0.0 if since is None else (now - since).total_seconds()


def _enter(run: Run, status: int, now: datetime) -> None:
    run.status = status
    run.phase_entered_at = now
    run.phase_polls = 0
    run.updated_at = now


def phase_done(run: Run, now: datetime, polled: bool) -> bool:
    """Whether the current phase has used up its polls and its seconds.

    A phase that counts polls only ends during a GET of the run (``polled``), so a run never moves on
    behind the back of the client that last saw it; clock-only phases end on any request.
    """
    script = run.script
    polls, seconds = {
        QUEUED: (script.queued_polls, script.queued_seconds),
        STARTING: (script.starting_polls, script.starting_seconds),
        RUNNING: (script.running_polls, script.running_seconds),
    }[run.status]
    return (
        (polled or not polls) and run.phase_polls >= polls and _elapsed(run.phase_entered_at, now) >= seconds
    )


def dequeue(run: Run, now: datetime) -> None:
    """Queued -> Starting."""
    run.dequeued_at = now
    run.blocked_by = []
    _enter(run, STARTING, now)


def start(run: Run, now: datetime) -> None:
    """Starting -> Running; the first step begins."""
    run.started_at = now
    run.final_step = final_step_index(run)
    _enter(run, RUNNING, now)
    _advance_steps(run, 1, now)


def advance_running(run: Run, now: datetime, timeout_seconds: int, polled: bool) -> bool:
    """Move a running run along: timeout, pending cancel, step progress, outcome. True when it changed."""
    if timeout_seconds and _elapsed(run.started_at, now) >= timeout_seconds:
        finish_cancelled(run, now, timeout_message(timeout_seconds))
        return True
    script = run.script
    if (
        run.cancel_requested_at is not None
        and (polled or not script.cancel_polls)
        and run.cancel_polls >= script.cancel_polls
        and _elapsed(run.cancel_requested_at, now) >= script.cancel_seconds
    ):
        finish_cancelled(run, now, USER_CANCEL_MESSAGE)
        return True
    if phase_done(run, now, polled):
        _finish_by_script(run, now)
        return True
    fractions = []
    if script.running_polls and polled:
        fractions.append(run.phase_polls / script.running_polls)
    if script.running_seconds:
        fractions.append(_elapsed(run.phase_entered_at, now) / script.running_seconds)
    position = min(max(fractions, default=0.0), 0.999) * run.final_step
    return _advance_steps(run, 1 + int(position), now, position - int(position))


def _advance_steps(run: Run, current: int, now: datetime, progress: float = 0.0) -> bool:
    """Finish the steps before ``current``, start it, and move its nodes on to ``progress`` (0 to 1)."""
    changed = False
    for step in run.steps:
        if step.index < current and step.status in (NOT_STARTED, RUNNING):
            if not step.started:
                start_step(run, step, now)
            finish_step(run, step, SUCCESS, now)
            changed = True
        elif step.index == current and step.status in (NOT_STARTED, RUNNING):
            if not step.started:
                start_step(run, step, now)
                changed = True
            changed = advance_nodes(step, progress, now) or changed
    return changed


def _finish_by_script(run: Run, now: datetime) -> None:
    final = run.final_step
    _advance_steps(run, final, now)
    last = run.step_by_index(final)
    assert last is not None
    outcome = run.script.outcome
    if outcome == "success":
        finish_step(run, last, SUCCESS, now)
        _end(run, SUCCESS, now, run.script.status_message)
    elif outcome == "error":
        finish_step(run, last, ERROR, now)
        _end(run, ERROR, now, run.script.status_message)
    else:
        finish_step(run, last, CANCELLED, now)
        _end(run, CANCELLED, now, run.script.status_message or SCRIPTED_CANCEL_MESSAGE)


def finish_cancelled(run: Run, now: datetime, message: str) -> None:
    """End the run as Cancelled; a running step is cancelled with it."""
    for step in run.steps:
        if step.status == RUNNING:
            finish_step(run, step, CANCELLED, now)
    _end(run, CANCELLED, now, message)


def _end(run: Run, status: int, now: datetime, message: str | None) -> None:
    run.finished_at = now
    run.status_message = message
    run.blocked_by = []
    run.status = status
    run.updated_at = now
