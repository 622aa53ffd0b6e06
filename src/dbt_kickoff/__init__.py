"""dbt-kickoff: run a dbt Core package or a dbt Cloud job right after your load, and get every node's result."""

from dbt_kickoff.environments.venv import Venv, get_venv
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

__all__ = [
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
__version__ = "0.1.0"
