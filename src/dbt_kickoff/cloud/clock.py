"""Time as an injectable object, so waits and backoffs can run on a fake clock in tests and benchmarks.

A fake clock implements :class:`Clock` itself (the emulator's ``FakeClock`` does: sleeping advances it)."""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable

import anyio


@runtime_checkable
class Clock(Protocol):
    """What the dbt Cloud runner needs of time: wall time, a monotonic reading, and sleeping."""

    def time(self) -> float:
        """Seconds since the epoch (used to read an HTTP-date ``Retry-After``)."""
        ...

    def monotonic(self) -> float:
        """A reading that never goes backwards (used for intervals and deadlines)."""
        ...

    def sleep(self, seconds: float) -> None:
        """Block for ``seconds`` (a fake clock advances instead)."""
        ...


class SystemClock:
    """The real clock."""

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    async def asleep(self, seconds: float) -> None:
        await anyio.sleep(max(0.0, seconds))

    def __repr__(self) -> str:
        return "SystemClock()"


def as_clock(clock: Clock | None = None) -> Clock:
    """``None`` → the system clock; a :class:`Clock` as is (a test's fake clock, e.g. the emulator's)."""
    if clock is None:
        return SystemClock()
    if isinstance(clock, Clock):
        return clock
    raise TypeError(f"{clock!r} is not a clock: it needs time(), monotonic() and sleep() (and async asleep())")


async def asleep(clock: Clock, seconds: float) -> None:
    """Sleep on ``clock`` without blocking the event loop: its own ``asleep`` when it has one (the system and
    fake clocks do), else its blocking ``sleep`` in a worker thread."""
    own = getattr(clock, "asleep", None)
    if own is not None:
        await own(seconds)
    else:
        await anyio.to_thread.run_sync(clock.sleep, seconds)
