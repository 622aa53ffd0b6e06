"""Which dbt runs: the current interpreter, a cached virtual environment, or a dbt executable."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from dbt_kickoff.errors import ConfigurationError

EngineKind = Literal["worker", "subprocess"]


@dataclass(frozen=True)
class DbtEnvironment:
    """How to start dbt.

    ``engine="worker"``: ``python`` is an interpreter that can ``import dbt`` (Python dbt v1); the warm worker
    runs there. ``engine="subprocess"``: ``dbt_executable`` is run once per command (the dbt v2 engine, or a
    v1 ``dbt`` script when the worker is not wanted). ``exit_codes`` says how to read its exit status.

    ``drivers``: a folder of database drivers for the dbt v2 engine, passed to it as ``ADBC_DRIVER_PATH``
    (see :mod:`dbt_kickoff.environments.drivers`).

    ``engine_factory`` replaces how the engine is made (the seam a test engine plugs into, as a transport does
    in httpx): it is called with ``cwd``, ``env``, ``redact`` and ``cancel_grace`` and returns an object with
    the :class:`~dbt_kickoff.engines.Engine` methods; ``engine`` still says which engine it stands for (a warm
    ``"worker"`` keeps the parsed manifest between commands).
    """

    python: Path | None
    dbt_executable: Path | None = None
    engine: EngineKind = "worker"
    exit_codes: Literal["v1", "v2"] = "v1"
    description: str = "current environment"
    drivers: Path | None = None
    engine_factory: Callable[..., Any] | None = None
    dbt_version: str | None = None
    """The version dbt reports itself (``1.11.2``; v2: ``2.0.0-preview.196``), when known without starting it."""


def current_environment() -> DbtEnvironment:
    """The interpreter running this process (``venv=None``)."""
    return DbtEnvironment(python=Path(sys.executable), description=f"current environment ({sys.executable})")


def resolve_environment(venv: Any) -> DbtEnvironment:
    """Accept ``None``, a :class:`DbtEnvironment`, or anything with an ``environment`` attribute (``Venv``)."""
    if venv is None:
        return current_environment()
    if isinstance(venv, DbtEnvironment):
        return venv
    environment = getattr(venv, "environment", None)
    if isinstance(environment, DbtEnvironment):
        return environment
    raise ConfigurationError(
        f"venv must be None, a Venv from dbt_kickoff.get_venv() or a DbtEnvironment, not {type(venv).__name__}"
    )
