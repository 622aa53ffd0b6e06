"""How one dbt command runs: a warm worker process (Python dbt) or a process per command (any dbt executable)."""

from __future__ import annotations

from dbt_kickoff.engines.base import (
    CancelToken,
    DbtEvent,
    Engine,
    EventHandler,
    Invocation,
    InvocationOutcome,
    NodeEvent,
)
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
