"""dbt Cloud credentials: from an object, a mapping, or the ``DBT_CLOUD__*`` environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.redaction import MASK

DEFAULT_BASE_URL = "https://cloud.getdbt.com"
ENV_PREFIX = "DBT_CLOUD__"
# Optional trigger defaults that dlt's DBTCloudConfiguration carries; honoured so dlt code ports unchanged.
TRIGGER_DEFAULT_FIELDS = ("cause", "git_sha", "git_branch", "schema_override")


@dataclass(frozen=True)
class DbtCloudCredentials:
    """Who we are to dbt Cloud. The token is never shown by ``repr``/``str``."""

    api_token: str = field(repr=False)
    account_id: int
    job_id: int | None = None
    base_url: str = DEFAULT_BASE_URL
    run_id: int | None = None
    trigger_defaults: Mapping[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return (
            f"DbtCloudCredentials(api_token={MASK!r}, account_id={self.account_id}, job_id={self.job_id}, "
            f"base_url={self.base_url!r})"
        )

    __str__ = __repr__


def _get(source: Any, name: str) -> Any:
    if isinstance(source, Mapping):
        return source.get(name)
    return getattr(source, name, None)


def _as_id(value: Any, name: str, where: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ConfigurationError(f"dbt Cloud {name} must be an integer id, got {value!r} ({where})") from None
    if number <= 0:
        raise ConfigurationError(f"dbt Cloud {name} must be a positive integer id, got {number} ({where})")
    return number


def resolve_credentials(
    credentials: Any = None, environ: Mapping[str, str] | None = None
) -> DbtCloudCredentials:
    """Build :class:`DbtCloudCredentials` from ``credentials`` or, when ``None``, the environment.

    ``credentials`` may be a :class:`DbtCloudCredentials`, any object with ``api_token``/``account_id``/
    ``job_id``/``base_url`` attributes (dlt's ``DBTCloudConfiguration`` works) or a mapping with those keys.
    Environment variables: ``DBT_CLOUD__API_TOKEN``, ``DBT_CLOUD__ACCOUNT_ID``, ``DBT_CLOUD__JOB_ID``,
    ``DBT_CLOUD__BASE_URL``.
    """
    if isinstance(credentials, DbtCloudCredentials):
        return credentials
    if credentials is None:
        env = os.environ if environ is None else environ
        source: Any = {k[len(ENV_PREFIX) :].lower(): v for k, v in env.items() if k.startswith(ENV_PREFIX)}
        where = "from the DBT_CLOUD__* environment variables"
        token_hint = "set DBT_CLOUD__API_TOKEN"
        account_hint = "set DBT_CLOUD__ACCOUNT_ID"
    else:
        source = credentials
        where = f"from the {type(credentials).__name__} passed as credentials"
        token_hint = "give credentials an api_token"
        account_hint = "give credentials an account_id"
    token = _get(source, "api_token")
    token = "" if token is None else str(token).strip()
    if not token:
        raise ConfigurationError(f"No dbt Cloud API token ({where}): {token_hint} (a service token is best).")
    account_id = _as_id(_get(source, "account_id"), "account_id", where)
    if account_id is None:
        raise ConfigurationError(
            f"No dbt Cloud account id ({where}): {account_hint} (the number after /deploy/ in its URLs)."
        )
    base_url = _get(source, "base_url")
    defaults = {
        name: str(value) for name in TRIGGER_DEFAULT_FIELDS if (value := _get(source, name)) not in (None, "")
    }
    return DbtCloudCredentials(
        api_token=token,
        account_id=account_id,
        job_id=_as_id(_get(source, "job_id"), "job_id", where),
        base_url=str(base_url).strip() if base_url else DEFAULT_BASE_URL,
        run_id=_as_id(_get(source, "run_id"), "run_id", where),
        trigger_defaults=defaults,
    )
