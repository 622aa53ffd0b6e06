"""What the sync :class:`~dbt_kickoff.cloud.runs.DbtCloud` and the async
:class:`~dbt_kickoff.cloud.async_runs.AsyncDbtCloud` share: credentials, clock, ledger, id checks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dbt_kickoff.cloud.credentials import DbtCloudCredentials
from dbt_kickoff.cloud.ledger import RunLedger
from dbt_kickoff.cloud.status import RunStatus
from dbt_kickoff.errors import ConfigurationError


class CloudBase:
    """Holds the resolved credentials, the client (sync or async), its clock and the idempotency ledger."""

    client: Any

    def __init__(self, credentials: DbtCloudCredentials, client: Any, state_dir: Any) -> None:
        self.credentials = credentials
        self.client = client
        self.clock = client.clock
        self._state_dir = state_dir
        self._ledger: RunLedger | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(access_url={self.client.access_url!r}, account_id={self.client.account_id})"

    @property
    def state_dir(self) -> Any:
        """Where idempotency keys are remembered (``None``: the platform's user state folder)."""
        return self._state_dir

    @property
    def ledger(self) -> RunLedger:
        if self._ledger is None:
            self._ledger = RunLedger(self._state_dir)
        return self._ledger

    def job_id(self, job_id: int | str | None) -> int:
        """``job_id`` or the credentials' job id, as an int."""
        value = job_id if job_id not in (None, "") else self.credentials.job_id
        if value is None:
            raise ConfigurationError("no dbt Cloud job id: pass job_id or set DBT_CLOUD__JOB_ID")
        try:
            return int(str(value).strip())
        except ValueError:
            raise ConfigurationError(f"dbt Cloud job id must be an integer, got {value!r}") from None


def run_id_of(value: Any) -> int:
    """A run id from a run dict, an int or a string; :class:`ConfigurationError` when it is not one."""
    if isinstance(value, Mapping):
        value = value.get("id")
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ConfigurationError(f"dbt Cloud run id must be an integer, got {value!r}") from None
    if number <= 0:
        raise ConfigurationError(f"dbt Cloud run id must be positive, got {number}")
    return number


def human(run: Mapping[str, Any]) -> str:
    """The run's status in words (``Running``), or ``unknown``."""
    try:
        return str(run.get("status_humanized") or RunStatus.of(run).humanized)
    except (KeyError, ValueError):
        return "unknown"
