"""dbt-kickoff: run a dbt Core package or a dbt Cloud job right after your load, and get every node's result.

The errors and :class:`NodeResult` load with the package; everything else (the runner, the call core, venvs) on
first use, so ``import dbt_kickoff`` stays cheap for a task that only catches its errors or reads results.
"""

import logging
from importlib import import_module
from typing import TYPE_CHECKING, Any

from dbt_kickoff.errors import (
    ConfigurationError,
    DbtCancelled,
    DBTProcessingError,
    IncrementalSchemaOutOfSyncError,
    KickoffError,
    PrerequisitesException,
)
from dbt_kickoff.results import NodeResult
from dbt_kickoff.version import __version__ as __version__

if TYPE_CHECKING:
    from dbt_kickoff.core.call import Call, CallHooks, CallResults
    from dbt_kickoff.environments.venv import Venv, get_venv
    from dbt_kickoff.loaded import LoadFailed
    from dbt_kickoff.runner import PackageRunner, RunReport, StepReport, package
    from dbt_kickoff.signals import cancel_on_signals

__all__ = [
    "Call",
    "CallHooks",
    "CallResults",
    "ConfigurationError",
    "DBTProcessingError",
    "DbtCancelled",
    "IncrementalSchemaOutOfSyncError",
    "KickoffError",
    "LoadFailed",
    "NodeResult",
    "PackageRunner",
    "PrerequisitesException",
    "RunReport",
    "StepReport",
    "Venv",
    "cancel_on_signals",
    "get_venv",
    "package",
]

_LAZY = {
    "Call": "dbt_kickoff.core.call",
    "CallResults": "dbt_kickoff.core.call",
    "CallHooks": "dbt_kickoff.core.call",
    "LoadFailed": "dbt_kickoff.loaded",
    "PackageRunner": "dbt_kickoff.runner",
    "RunReport": "dbt_kickoff.runner",
    "StepReport": "dbt_kickoff.runner",
    "package": "dbt_kickoff.runner",
    "cancel_on_signals": "dbt_kickoff.signals",
    "Venv": "dbt_kickoff.environments.venv",
    "get_venv": "dbt_kickoff.environments.venv",
}

# a library prints nothing by itself: without logging configured by the caller, dbt-kickoff's records (and the
# dbt lines it relays) go nowhere; the CLI and the caller's logging setup decide what people see
logging.getLogger("dbt_kickoff").addHandler(logging.NullHandler())


def __getattr__(name: str) -> Any:
    """The public names that load on first use (see the module docstring)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'dbt_kickoff' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
