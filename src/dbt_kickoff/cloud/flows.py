"""Run the shared dbt Cloud logic on either client.

What to do with a run (trigger without duplicates, wait, cancel on stop, read results) is written once, as
generator *flows* that yield effects — :class:`Call` a client method, :class:`Sleep`, :class:`Offload` local
blocking work (writing a run record) — and receive their
results (or exceptions, thrown back in at the ``yield``). :func:`run_flow` performs them with the sync
:class:`~dbt_kickoff.cloud.client.DbtCloudClient`, :func:`arun_flow` with the async client. An exception that
stops the caller (KeyboardInterrupt, SystemExit, ``asyncio.CancelledError``…) reaches the flow the same way,
so the flow decides what to do about it in one place.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio

from dbt_kickoff.cloud.clock import asleep

T = TypeVar("T")


@dataclass(frozen=True)
class Call:
    """Call the client method ``name`` with ``args``/``kwargs``. ``shield`` (seconds): the call must complete
    even while the caller is being cancelled (an async cancel scope does not interrupt it), within that time."""

    name: str
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    shield: float | None = None


@dataclass(frozen=True)
class Sleep:
    """Sleep on the client's clock."""

    seconds: float


@dataclass(frozen=True)
class Offload:
    """Run a blocking local function (files of a run record, OpenLineage's client): directly with the sync client,
    in a worker thread with the async one."""

    function: Callable[..., Any]
    args: tuple[Any, ...] = ()


Effect = Call | Sleep | Offload
Flow = Generator[Effect, Any, T]


def call(name: str, *args: Any, **kwargs: Any) -> Call:
    return Call(name, args, kwargs)


def run_flow(flow: Flow[T], client: Any) -> T:
    """Drive ``flow`` with a sync client; return its result or raise its exception."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            effect = flow.send(value) if error is None else flow.throw(error)
        except StopIteration as stop:
            return stop.value
        value, error = None, None
        try:
            if isinstance(effect, Sleep):
                client.clock.sleep(effect.seconds)
            elif isinstance(effect, Offload):
                value = effect.function(*effect.args)
            elif effect.shield is not None:
                with client.bounded(effect.shield):
                    value = getattr(client, effect.name)(*effect.args, **effect.kwargs)
            else:
                value = getattr(client, effect.name)(*effect.args, **effect.kwargs)
        except BaseException as exc:  # every stop goes through the flow, which re-raises it
            error = exc


async def arun_flow(flow: Flow[T], client: Any) -> T:
    """Drive ``flow`` with an async client; return its result or raise its exception."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            effect = flow.send(value) if error is None else flow.throw(error)
        except StopIteration as stop:
            return stop.value
        value, error = None, None
        try:
            if isinstance(effect, Sleep):
                await asleep(client.clock, effect.seconds)
            elif isinstance(effect, Offload):
                value = await anyio.to_thread.run_sync(functools.partial(effect.function, *effect.args))
            elif effect.shield is not None:
                with anyio.fail_after(effect.shield, shield=True), client.bounded(effect.shield):
                    value = await getattr(client, effect.name)(*effect.args, **effect.kwargs)
            else:
                value = await getattr(client, effect.name)(*effect.args, **effect.kwargs)
        except BaseException as exc:  # every stop goes through the flow, which re-raises it
            error = exc
