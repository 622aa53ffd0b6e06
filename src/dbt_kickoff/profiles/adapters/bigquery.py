"""Google BigQuery (``dbt-bigquery``): service account JSON, key file, OAuth secrets, or application-default
credentials.

URL forms::

    bigquery://PROJECT/DATASET?location=EU                         (application-default credentials: oauth)
    bigquery://PROJECT/DATASET?keyfile=/path/to/service-account.json

Mapping fields: ``project`` (or ``project_id``), ``dataset`` (or ``schema``), ``location``, and one of
``keyfile_json`` (the service account JSON as a dict or a JSON string; its ``private_key`` and
``private_key_id`` become ``DBT_ENV_SECRET_*`` variables), ``keyfile`` (a path), dlt's service account fields
(``private_key``, ``client_email``...), ``refresh_token``/``client_id``/``client_secret`` (oauth-secrets).
With none of them, ``method: oauth`` uses application-default credentials. The default dataset is
``analytics``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.profiles.adapters.base import Adapter
from dbt_kickoff.profiles.fields import FieldReader
from dbt_kickoff.profiles.secrets import SecretEnv
from dbt_kickoff.profiles.urls import UrlParts

DEFAULT_DATASET = "analytics"
TOKEN_URI = "https://oauth2.googleapis.com/token"
_KEYFILE_SECRETS = ("private_key", "private_key_id")


def _from_url(parts: UrlParts) -> dict[str, Any]:
    segments = parts.path_segments
    if parts.username or parts.password:
        raise ConfigurationError(
            f"bigquery URL {parts.redacted}: credentials do not go in the URL; use ?keyfile=PATH or a "
            "mapping with keyfile_json"
        )
    if len(segments) > 1:
        raise ConfigurationError(f"bigquery URL {parts.redacted}: the path is just the DATASET")
    return {"project": parts.host, "dataset": segments[0] if segments else None, **parts.query}


def _keyfile_json(f: FieldReader) -> dict[str, Any] | None:
    raw = f.get("keyfile_json", "credentials_json")
    if raw is None:
        if f.has("private_key") and f.has("client_email"):  # dlt's service account credentials
            return {
                "type": "service_account",
                "project_id": f.get("project_id", "project"),
                "private_key_id": f.get("private_key_id"),
                "private_key": f.get("private_key"),
                "client_email": f.get("client_email"),
                "client_id": f.get("client_id"),
                "token_uri": f.get("token_uri", default=TOKEN_URI),
            }
        return None
    if isinstance(raw, Mapping):
        return dict(raw)
    try:
        parsed = json.loads(str(raw))
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise ConfigurationError(
            f"bigquery destination {f.ctx.where}: keyfile_json must be the service account JSON (a mapping "
            "or a JSON object string); it could not be read as one"
        ) from None
    return parsed


def _build(f: FieldReader, secrets: SecretEnv) -> dict[str, Any]:
    keyfile_json = _keyfile_json(f)
    project = f.get("project", "project_id") or (keyfile_json or {}).get("project_id")
    if not project:
        raise ConfigurationError(
            f"bigquery destination {f.ctx.where} is missing 'project'; e.g. bigquery://PROJECT/DATASET"
        )
    output: dict[str, Any] = {"type": "bigquery", "project": str(project)}
    keyfile = f.text("keyfile")
    if keyfile_json is not None:
        missing = [k for k in ("private_key", "client_email") if not keyfile_json.get(k)]
        if missing:
            raise ConfigurationError(
                f"bigquery destination {f.ctx.where}: the service account JSON lacks {', '.join(missing)}"
            )
        output["method"] = "service-account-json"
        output["keyfile_json"] = {
            k: secrets.ref(f"BIGQUERY_{k}", v) if k in _KEYFILE_SECRETS else v
            for k, v in keyfile_json.items()
            if v is not None
        }
    elif keyfile:
        path = Path(keyfile).expanduser().absolute()
        if not path.is_file():
            raise ConfigurationError(f"bigquery destination {f.ctx.where}: no keyfile at {str(path)!r}")
        output["method"] = "service-account"
        output["keyfile"] = str(path)
    elif f.has("refresh_token"):
        output["method"] = "oauth-secrets"
        output["refresh_token"] = secrets.ref("BIGQUERY_REFRESH_TOKEN", f.get("refresh_token"))
        output["client_id"] = str(f.require("client_id"))
        output["client_secret"] = secrets.ref("BIGQUERY_CLIENT_SECRET", f.require("client_secret"))
        output["token_uri"] = f.text("token_uri", default=TOKEN_URI)
    else:
        output["method"] = f.text("method", default="oauth")  # application-default credentials
    output["dataset"] = f.schema("dataset", "schema", default=DEFAULT_DATASET)
    for name in ("location", "priority", "job_execution_timeout_seconds", "job_retries", "execution_project"):
        value = f.get(name)
        if value is not None:
            output[name] = value
    return output


BIGQUERY = Adapter(
    name="bigquery",
    adapter_type="bigquery",
    packages=("dbt-bigquery",),
    build=_build,
    from_url=_from_url,
    schemes=("bigquery",),
    url_forms=("bigquery://PROJECT/DATASET?location=EU", "bigquery://PROJECT/DATASET?keyfile=/path/key.json"),
)
