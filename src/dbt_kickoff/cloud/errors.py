"""Errors raised by the dbt Cloud runner; every one is a :class:`~dbt_kickoff.errors.KickoffError`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dbt_kickoff.errors import ConfigurationError, KickoffError


class DbtCloudError(KickoffError):
    """Base class of errors talking to dbt Cloud."""


class DbtCloudAPIError(DbtCloudError):
    """dbt Cloud answered a request with an error (or never answered usefully, after retries).

    ``status_code`` is the HTTP status (``None`` when no response came), ``user_message`` dbt Cloud's own text
    and ``field_errors`` the per-field validation messages of a 400.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        user_message: str | None = None,
        field_errors: Mapping[str, Any] | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.user_message = user_message
        self.field_errors: dict[str, Any] = dict(field_errors or {})
        self.method = method
        self.path = path


class DbtCloudAuthError(DbtCloudAPIError):
    """401: the token was rejected by the host in use (often a valid token sent to the wrong host)."""


class DbtCloudPermissionError(DbtCloudAPIError):
    """403: access denied (IP allowlist, or a permission the token lacks)."""


class DbtCloudNotFoundError(DbtCloudAPIError):
    """404: the resource does not exist or the token cannot see it (dbt Cloud answers 404 for both)."""


class DbtCloudValidationError(DbtCloudAPIError):
    """400: dbt Cloud rejected the request body or query; ``field_errors`` says which fields."""


class DbtCloudUnavailableError(DbtCloudAPIError):
    """Retries exhausted on rate limits, server errors, bad bodies or connection failures."""

    exit_status = 1


class DbtCloudLookupError(DbtCloudError):
    """No, or more than one, project/environment/job has the given name (``kind``, ``name``); ``candidates``
    lists the names that came closest."""

    def __init__(self, message: str, *, kind: str, name: str, candidates: list[str]) -> None:
        super().__init__(message)
        self.kind = kind
        self.name = name
        self.candidates = candidates


class DbtCloudTriggerUncertain(DbtCloudError):
    """A trigger may or may not have created a run; look for ``marker`` in the cause of the job's runs."""

    exit_status = 1

    def __init__(self, message: str, *, job_id: int, marker: str) -> None:
        super().__init__(message)
        self.job_id = job_id
        self.marker = marker


class DbtCloudRunFailed(DbtCloudError):
    """A run ended in error (status 20). ``.run`` is the run as dbt Cloud describes it, with its steps."""

    exit_status = 1

    def __init__(self, message: str, run: Mapping[str, Any]) -> None:
        super().__init__(message)
        self.run: dict[str, Any] = dict(run)

    @property
    def run_id(self) -> int:
        return int(self.run["id"])


class DbtCloudRunCancelled(DbtCloudRunFailed):
    """A run was cancelled (status 30): by a user, the API, or dbt Cloud's own run timeout (``timed_out``)."""

    @property
    def timed_out(self) -> bool:
        """True when dbt Cloud cancelled the run because it exceeded the job's timeout."""
        return "timed out" in str(self.run.get("status_message") or "").lower()


class DbtCloudWaitTimeout(DbtCloudError):
    """The caller's wait ``timeout`` passed before the run finished (``cancelled`` if we cancelled it)."""

    exit_status = 1

    def __init__(self, message: str, run: Mapping[str, Any], *, cancelled: bool) -> None:
        super().__init__(message)
        self.run: dict[str, Any] = dict(run)
        self.cancelled = cancelled

    @property
    def run_id(self) -> int:
        return int(self.run["id"])


__all__ = [
    "ConfigurationError",
    "DbtCloudAPIError",
    "DbtCloudAuthError",
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
]
