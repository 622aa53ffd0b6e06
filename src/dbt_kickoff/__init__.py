"""dbt-kickoff: run a dbt Core package or a dbt Cloud job right after your load, and get every node's result."""

import logging
from typing import TYPE_CHECKING, Any

from dbt_kickoff.core.call import Call, CallResults
from dbt_kickoff.core.hooks import CallHooks
from dbt_kickoff.errors import (
    ConfigurationError,
    DbtCancelled,
    DBTProcessingError,
    IncrementalSchemaOutOfSyncError,
    KickoffError,
    PrerequisitesException,
)
from dbt_kickoff.loaded import LoadFailed
from dbt_kickoff.results import NodeResult
from dbt_kickoff.runner import PackageRunner, RunReport, StepReport, package
from dbt_kickoff.signals import cancel_on_signals
from dbt_kickoff.version import __version__ as __version__

if TYPE_CHECKING:
    from dbt_kickoff.environments.venv import Venv, get_venv

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

# a library prints nothing by itself: without logging configured by the caller, dbt-kickoff's records (and the
# dbt lines it relays) go nowhere; the CLI and the caller's logging setup decide what people see
logging.getLogger("dbt_kickoff").addHandler(logging.NullHandler())


def __getattr__(name: str) -> Any:
    """``Venv`` and ``get_venv`` load on first use: a task that runs dbt in place never pays for the installer."""
    if name in ("Venv", "get_venv"):
        from dbt_kickoff.environments import venv

        return getattr(venv, name)
    raise AttributeError(f"module 'dbt_kickoff' has no attribute {name!r}")
