"""How one dbt command runs: a warm worker process (Python dbt) or a process per command (any dbt executable)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from dbt_kickoff.engines.base import DbtEvent, Engine, EventHandler, Invocation, InvocationOutcome, NodeEvent
from dbt_kickoff.engines.subprocess_engine import SubprocessEngine
from dbt_kickoff.engines.worker import WorkerCrashed, WorkerEngine
from dbt_kickoff.environments import DbtEnvironment, current_environment
from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.redaction import Redactor

__all__ = [
    "DbtEvent",
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

# Variables of the host that would make another interpreter load the host's packages instead of its own.
_HOST_ONLY_VARIABLES = ("PYTHONHOME", "PYTHONPATH", "VIRTUAL_ENV", "__PYVENV_LAUNCHER__")


def dbt_process_env(environment: DbtEnvironment, extra: Mapping[str, str]) -> dict[str, str]:
    """The environment of the dbt process: the host's, plus ``extra`` (secrets, DBT_*), without leaking in
    the host's Python path when dbt runs in another interpreter. The host's ``os.environ`` is not changed."""
    env = dict(os.environ)
    if environment.python != current_environment().python:
        for name in _HOST_ONLY_VARIABLES:
            env.pop(name, None)
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")  # offline is normal; no tracking calls
    env.update(extra)
    return env


def make_engine(
    environment: DbtEnvironment, *, cwd: Path, env: Mapping[str, str], redact: Redactor
) -> WorkerEngine | SubprocessEngine:
    """The engine that fits ``environment``: the warm worker for a Python dbt, else a process per command."""
    process_env = dbt_process_env(environment, env)
    if environment.engine == "worker":
        if environment.python is None:
            raise ConfigurationError(f"{environment.description}: the worker engine needs a Python interpreter")
        return WorkerEngine(
            environment.python, cwd=cwd, env=process_env, redact=redact, description=environment.description
        )
    if environment.dbt_executable is None:
        raise ConfigurationError(f"{environment.description}: the subprocess engine needs a dbt executable")
    return SubprocessEngine(
        environment.dbt_executable, cwd=cwd, env=process_env, exit_codes=environment.exit_codes, redact=redact
    )
