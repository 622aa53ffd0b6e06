"""dbt-kickoff: run a dbt Core package or a dbt Cloud job right after your load, and get every node's result."""

from dbt_kickoff.environments.venv import Venv, get_venv
from dbt_kickoff.errors import (
    DBTProcessingError,
    IncrementalSchemaOutOfSyncError,
    KickoffError,
    PrerequisitesException,
)
from dbt_kickoff.results import NodeResult
from dbt_kickoff.runner import PackageRunner, RunReport, StepReport, package

__all__ = [
    "DBTProcessingError",
    "IncrementalSchemaOutOfSyncError",
    "KickoffError",
    "NodeResult",
    "PackageRunner",
    "PrerequisitesException",
    "RunReport",
    "StepReport",
    "Venv",
    "get_venv",
    "package",
]
__version__ = "0.1.0"
