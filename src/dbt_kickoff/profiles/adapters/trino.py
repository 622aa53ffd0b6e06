"""Trino / Starburst (``dbt-trino``).

URL forms::

    trino://USER@HOST:8080/CATALOG/SCHEMA                        (no authentication, http)
    trino://USER:PASSWORD@HOST:443/CATALOG/SCHEMA                (LDAP password; https)

Query parameters: ``http_scheme``, ``schema``, ``method``. In dbt-trino ``database`` is the catalog.
A password selects ``method: ldap`` and https (Trino refuses passwords over http) and becomes a
``DBT_ENV_SECRET_*`` variable. The default schema is ``default``.
"""

from __future__ import annotations

from typing import Any

from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.profiles.adapters.base import Adapter
from dbt_kickoff.profiles.fields import FieldReader
from dbt_kickoff.profiles.secrets import SecretEnv
from dbt_kickoff.profiles.urls import UrlParts

DEFAULT_SCHEMA = "default"
EXAMPLE = "trino://user@host:8080/catalog/schema"


def _from_url(parts: UrlParts) -> dict[str, Any]:
    segments = parts.path_segments
    if len(segments) > 2:
        raise ConfigurationError(f"trino URL {parts.redacted}: the path is CATALOG or CATALOG/SCHEMA")
    return {
        "user": parts.username,
        "password": parts.password,
        "host": parts.host,
        "port": parts.port,
        "database": segments[0] if segments else None,
        "schema": segments[1] if len(segments) > 1 else None,
        **parts.query,
    }


def _build(f: FieldReader, secrets: SecretEnv) -> dict[str, Any]:
    password = f.get("password")
    method = f.text("method", default="ldap" if password is not None else "none")
    http_scheme = f.text("http_scheme", default="https" if method != "none" else "http")
    output: dict[str, Any] = {
        "type": "trino",
        "method": method,
        "user": str(f.require("user", "username", hint=f"e.g. {EXAMPLE}")),
        "host": str(f.require("host", hint=f"e.g. {EXAMPLE}")),
        "port": f.port(443 if http_scheme == "https" else 8080),
        "database": str(f.require("database", "catalog", hint=f"the catalog, e.g. {EXAMPLE}")),
        "schema": f.schema("schema", default=DEFAULT_SCHEMA),
        "http_scheme": http_scheme,
    }
    if password is not None:
        output["password"] = secrets.ref("PASSWORD", password)
    elif method == "ldap":
        raise ConfigurationError(f"trino destination {f.ctx.where}: method ldap needs a password")
    return output


TRINO = Adapter(
    name="trino",
    adapter_type="trino",
    packages=("dbt-trino",),
    build=_build,
    from_url=_from_url,
    schemes=("trino",),
    aliases=("starburst",),
    url_forms=("trino://USER[:PASSWORD]@HOST:PORT/CATALOG/SCHEMA?http_scheme=https",),
)
