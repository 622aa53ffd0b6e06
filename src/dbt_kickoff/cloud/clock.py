"""Time as an injectable object, so waits and backoffs can run on a fake clock in tests and benchmarks."""

from __future__ import annotations

import time
from typing import Any, Protocol, runtime_checkable

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


class AdvancingClock:
    """Adapts a clock that only tells ``now()`` (a datetime) and moves by ``advance(seconds)`` — such as the
    emulator's ``FakeClock`` — to :class:`Clock`: sleeping advances it, so waits take no real time."""

    def __init__(self, fake: Any) -> None:
        self.fake = fake

    def time(self) -> float:
        return float(self.fake.now().timestamp())

    def monotonic(self) -> float:
        return self.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.fake.advance(seconds)

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)
        await anyio.sleep(0)  # still a checkpoint: cancellation is seen

    def __repr__(self) -> str:
        return f"AdvancingClock({self.fake!r})"


def as_clock(clock: Any = None) -> Clock:
    """``None`` → the system clock; a :class:`Clock` as is; a ``now()``/``advance()`` fake clock adapted."""
    if clock is None:
        return SystemClock()
    if isinstance(clock, Clock):
        return clock
    if callable(getattr(clock, "now", None)) and callable(getattr(clock, "advance", None)):
        return AdvancingClock(clock)
    raise TypeError(f"{clock!r} is not a clock: it needs time()/monotonic()/sleep(), or now()/advance()")


async def asleep(clock: Clock, seconds: float) -> None:
    """Sleep on ``clock`` without blocking the event loop: its own ``asleep`` when it has one (the system and
    fake clocks do), else its blocking ``sleep`` in a worker thread."""
    own = getattr(clock, "asleep", None)
    if own is not None:
        await own(seconds)
    else:
        await anyio.to_thread.run_sync(clock.sleep, seconds)
