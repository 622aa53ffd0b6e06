"""Run dbt Cloud jobs: trigger (never twice), wait, and get every node's result.

>>> from dbt_kickoff.cloud import run_dbt_cloud_job
>>> run = run_dbt_cloud_job(job_id=1234, data={"git_sha": "abcd1234"}, wait_for_outcome=True)
>>> run["status_humanized"]
'Success'
"""

from dbt_kickoff.cloud.aclient import AsyncDbtCloudClient
from dbt_kickoff.cloud.api import get_dbt_cloud_run_status, run_dbt_cloud_job
from dbt_kickoff.cloud.artifacts import download_artifacts, fetch_node_results, result_steps
from dbt_kickoff.cloud.async_runs import AsyncDbtCloud
from dbt_kickoff.cloud.client import DbtCloudClient, RetryPolicy, normalize_base_url
from dbt_kickoff.cloud.clock import Clock, SystemClock
from dbt_kickoff.cloud.credentials import DbtCloudCredentials, resolve_credentials
from dbt_kickoff.cloud.errors import (
    DbtCloudAPIError,
    DbtCloudAuthError,
    DbtCloudError,
    DbtCloudLookupError,
    DbtCloudNotFoundError,
    DbtCloudPermissionError,
    DbtCloudRunCancelled,
    DbtCloudRunFailed,
    DbtCloudTriggerUncertain,
    DbtCloudUnavailableError,
    DbtCloudValidationError,
    DbtCloudWaitTimeout,
)
from dbt_kickoff.cloud.runs import DbtCloud, describe_run_failure
from dbt_kickoff.cloud.status import RunStatus

__all__ = [
    "AsyncDbtCloud",
    "AsyncDbtCloudClient",
    "Clock",
    "DbtCloud",
    "DbtCloudAPIError",
    "DbtCloudAuthError",
    "DbtCloudClient",
    "DbtCloudCredentials",
    "DbtCloudError",
    "DbtCloudLookupError",
    "DbtCloudNotFoundError",
    "DbtCloudPermissionError",
    "DbtCloudRunCancelled",
    "DbtCloudRunFailed",
    "DbtCloudTriggerUncertain",
    "DbtCloudUnavailableError",
    "DbtCloudValidationError",
    "DbtCloudWaitTimeout",
    "RetryPolicy",
    "RunStatus",
    "SystemClock",
    "describe_run_failure",
    "download_artifacts",
    "fetch_node_results",
    "get_dbt_cloud_run_status",
    "normalize_base_url",
    "resolve_credentials",
    "result_steps",
    "run_dbt_cloud_job",
]
