"""How one dbt command runs: a warm worker process (Python dbt) or a process per command (any dbt executable).

The event and invocation types load with the package; the engines, their session and factory on first use (a
process that only reads events, or runs dbt v2, never imports the warm worker's engine).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from dbt_kickoff.engines.base import (
    CancelToken,
    DbtEvent,
    Engine,
    EventHandler,
    Invocation,
    InvocationOutcome,
    NodeEvent,
)

if TYPE_CHECKING:
    from dbt_kickoff.engines.factory import dbt_process_env, make_engine
    from dbt_kickoff.engines.session import DbtSession
    from dbt_kickoff.engines.subprocess_engine import SubprocessEngine
    from dbt_kickoff.engines.worker import WorkerCrashed, WorkerEngine

__all__ = [
    "CancelToken",
    "DbtEvent",
    "DbtSession",
    "Engine",
    "EventHandler",
    "Invocation",
    "InvocationOutcome",
    "NodeEvent",
    "SubprocessEngine",
    "WorkerCrashed",
    "WorkerEngine",
    "dbt_process_env",
    "make_engine",
]

_LAZY = {
    "DbtSession": "dbt_kickoff.engines.session",
    "SubprocessEngine": "dbt_kickoff.engines.subprocess_engine",
    "WorkerCrashed": "dbt_kickoff.engines.worker",
    "WorkerEngine": "dbt_kickoff.engines.worker",
    "dbt_process_env": "dbt_kickoff.engines.factory",
    "make_engine": "dbt_kickoff.engines.factory",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(module), name)
