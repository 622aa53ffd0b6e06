"""Databricks (``dbt-databricks``): personal access token, or OAuth machine-to-machine (client id/secret).

URL forms::

    databricks://token:TOKEN@HOST/sql/1.0/warehouses/ID?catalog=CATALOG&schema=SCHEMA
    databricks://token:TOKEN@HOST?http_path=/sql/1.0/warehouses/ID&catalog=CATALOG&schema=SCHEMA

Mapping fields are dbt's (``host``, ``http_path``, ``token``, ``catalog``, ``schema``, ``client_id``,
``client_secret``) or dlt's (``server_hostname``, ``access_token``). The token and client secret become
``DBT_ENV_SECRET_*`` variables. ``connect_timeout`` defaults to 10 s. The default schema is ``default``.
"""

from __future__ import annotations

from typing import Any

from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.profiles.adapters.base import Adapter
from dbt_kickoff.profiles.fields import FieldReader
from dbt_kickoff.profiles.secrets import SecretEnv
from dbt_kickoff.profiles.urls import UrlParts

DEFAULT_SCHEMA = "default"
DEFAULT_CONNECT_TIMEOUT = 10
EXAMPLE = "databricks://token:TOKEN@HOST/sql/1.0/warehouses/ID?catalog=main"


def _from_url(parts: UrlParts) -> dict[str, Any]:
    token = parts.password if parts.username in (None, "token") else None
    if parts.username not in (None, "token"):
        raise ConfigurationError(f"databricks URL {parts.redacted}: write the token as token:TOKEN@HOST")
    return {
        "host": parts.host,
        "http_path": "/" + parts.path if parts.path else None,
        "token": token,
        **parts.query,
    }


def _build(f: FieldReader, secrets: SecretEnv) -> dict[str, Any]:
    http_path = str(f.require("http_path", hint=f"the SQL warehouse or cluster path, e.g. {EXAMPLE}"))
    output: dict[str, Any] = {
        "type": "databricks",
        "host": str(f.require("host", "server_hostname", hint=f"e.g. {EXAMPLE}")).removeprefix("https://"),
        "http_path": http_path if http_path.startswith("/") else "/" + http_path,
    }
    catalog = f.text("catalog")
    if catalog:
        output["catalog"] = catalog
    output["schema"] = f.schema("schema", default=DEFAULT_SCHEMA)
    token = f.get("token", "access_token", "password")
    client_id, client_secret = f.get("client_id"), f.get("client_secret")
    if token is not None:
        output["token"] = secrets.ref("DATABRICKS_TOKEN", token)
    elif client_id is not None and client_secret is not None:
        output["auth_type"] = "oauth"
        output["client_id"] = str(client_id)
        output["client_secret"] = secrets.ref("DATABRICKS_CLIENT_SECRET", client_secret)
    else:
        raise ConfigurationError(
            f"databricks destination {f.ctx.where} has no credentials: give a token (token:TOKEN@HOST in the "
            "URL) or client_id and client_secret"
        )
    timeout = f.ctx.connect_timeout
    output["connect_timeout"] = (
        max(1, round(timeout)) if timeout is not None
        else f.integer("connect_timeout", default=DEFAULT_CONNECT_TIMEOUT, low=1)
    )
    retries = f.integer("connect_retries", low=0)
    if retries is not None:
        output["connect_retries"] = retries
    return output


DATABRICKS = Adapter(
    name="databricks",
    adapter_type="databricks",
    packages=("dbt-databricks",),
    build=_build,
    from_url=_from_url,
    schemes=("databricks",),
    url_forms=("databricks://token:TOKEN@HOST/HTTP_PATH?catalog=CATALOG&schema=SCHEMA",),
)
