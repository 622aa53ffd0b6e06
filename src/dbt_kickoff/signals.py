"""Turn SIGTERM and SIGINT into a cancel of running dbt commands, for the CLI and for orchestrator tasks."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any, Protocol

from dbt_kickoff.errors import ConfigurationError


class Cancellable(Protocol):
    def cancel(self, reason: str = "cancelled") -> None: ...


@dataclass
class ReceivedSignals:
    """What :func:`cancel_on_signals` caught: ``signum`` is the first signal (``None``: none came)."""

    signum: int | None = None

    @property
    def exit_status(self) -> int | None:
        """The shell's convention for a process ended by that signal: 143 for SIGTERM, 130 for SIGINT."""
        return 128 + self.signum if self.signum is not None else None


@contextmanager
def cancel_on_signals(*runners: Cancellable,
                      signals: tuple[int, ...] = (signal.SIGTERM, signal.SIGINT)) -> Iterator[ReceivedSignals]:
    """While open, SIGTERM and SIGINT cancel ``runners`` (a :class:`~dbt_kickoff.PackageRunner`, anything with
    ``cancel(reason)``) instead of ending the process: dbt gets SIGINT, its queries are cancelled, and the
    waiting call raises :class:`~dbt_kickoff.DbtCancelled` with the partial results. A second signal kills dbt
    at once. The previous handlers come back on exit. Must be entered in the main thread (Python delivers
    signals there); the runner call itself may run in any thread.

    >>> with dbt_kickoff.cancel_on_signals(runner) as received:
    ...     runner.run_all()
    """
    if threading.current_thread() is not threading.main_thread():
        raise ConfigurationError(
            "cancel_on_signals() must be entered in the main thread (Python delivers signals only there); "
            "from another thread, call runner.cancel() when your orchestrator stops the task"
        )
    received = ReceivedSignals()

    def handle(signum: int, _frame: FrameType | None) -> None:
        if received.signum is None:
            received.signum = signum
        for runner in runners:
            runner.cancel(f"received {signal.Signals(signum).name}")

    previous: dict[int, Any] = {}
    try:
        for signum in signals:
            previous[signum] = signal.signal(signum, handle)
        yield received
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
