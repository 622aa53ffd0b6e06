"""Clocks for the emulator: the real UTC clock, or a fake one that tests move by hand (and that a client under
test can wait on: sleeping on it advances it)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import Protocol

DEFAULT_FAKE_START = datetime(2026, 1, 5, 9, 30, 0, tzinfo=timezone.utc)


class Clock(Protocol):
    """Anything that tells the current UTC time."""

    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...


class RealClock:
    """Wall-clock UTC time."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FakeClock:
    """A clock that only moves when told to; makes clocked run progression deterministic.

    >>> clock = FakeClock()
    >>> clock.advance(90)   # ninety seconds later

    It also has what a client needs of time to wait on it — ``time()``, ``monotonic()``, ``sleep()`` and
    ``async asleep()`` — where sleeping advances the clock, so a client sharing it with the emulator sees its
    waits, backoffs and ``Retry-After`` pauses pass at once, in step with the runs it polls.
    """

    def __init__(self, start: datetime = DEFAULT_FAKE_START) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock start must be timezone-aware (UTC)")
        self._now = start.astimezone(timezone.utc)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> datetime:
        """Move the clock forward by ``seconds`` and return the new time."""
        if seconds < 0:
            raise ValueError("a FakeClock only moves forward")
        with self._lock:
            self._now += timedelta(seconds=seconds)
            return self._now

    def time(self) -> float:
        """Seconds since the epoch on this clock."""
        return self.now().timestamp()

    def monotonic(self) -> float:
        """The same reading as :meth:`time`: this clock never goes backwards."""
        return self.time()

    def sleep(self, seconds: float) -> None:
        """Advance by ``seconds`` (a negative or zero pause does nothing) instead of blocking."""
        if seconds > 0:
            self.advance(seconds)

    async def asleep(self, seconds: float) -> None:
        """:meth:`sleep`, awaited: still a checkpoint, so a cancelled task stops here."""
        import anyio  # imported when first needed: only an async client awaits this

        self.sleep(seconds)
        await anyio.sleep(0)

    def __repr__(self) -> str:
        return f"FakeClock({self.now().isoformat()})"
