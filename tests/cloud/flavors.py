"""Run the same test body against the sync and the async dbt Cloud objects.

:class:`Blocking` wraps an async object (``AsyncDbtCloud``, ``AsyncDbtCloudClient``) so that its coroutine
methods are called through an anyio blocking portal — a real event loop in a thread — and look synchronous to
the test. Plain attributes pass through. The async code under test is the real one, only driven from a test
that was written once.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import AsyncIterator, Callable
from typing import Any

from anyio.from_thread import BlockingPortal


async def _collect(items: AsyncIterator[Any]) -> list[Any]:
    return [item async for item in items]


class Blocking:
    """A synchronous view of an async object, through ``portal``."""

    def __init__(self, portal: BlockingPortal, target: Any, close: str = "aclose") -> None:
        self._portal = portal
        self._target = target
        self._close = close

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if inspect.iscoroutinefunction(attr):
            return lambda *args, **kwargs: self._portal.call(lambda: attr(*args, **kwargs))
        if inspect.isasyncgenfunction(attr):
            return lambda *args, **kwargs: iter(self._portal.call(_collect, attr(*args, **kwargs)))
        return attr

    def __repr__(self) -> str:
        return repr(self._target)

    def close(self) -> None:
        with contextlib.suppress(RuntimeError):  # a SystemExit raised in the event loop ends it (asyncio's rule)
            self._portal.call(getattr(self._target, self._close))

    def __enter__(self) -> Blocking:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def make_blocking(portal: BlockingPortal, factory: Callable[[], Any]) -> Blocking:
    """Build the async object on the portal's event loop and wrap it."""
    return Blocking(portal, portal.call(factory))
