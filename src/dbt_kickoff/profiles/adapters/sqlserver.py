"""Microsoft SQL Server (``dbt-sqlserver``), named ``mssql`` like dlt's destination (``sqlserver`` accepted).

URL forms::

    mssql://USER:PASSWORD@HOST:1433/DATABASE?driver=ODBC+Driver+18+for+SQL+Server&encrypt=true&trust_cert=false
    sqlserver://USER:PASSWORD@HOST/DATABASE?schema=dbo

Mapping fields are dbt's (``server``, ``port``, ``database``, ``schema``, ``user``, ``password``,
``driver``, ``encrypt``, ``trust_cert``, ``authentication``) or dlt's (``host``, ``username``; the ODBC
query keys ``Encrypt`` and ``TrustServerCertificate`` are understood). The ODBC driver (default
``ODBC Driver 18 for SQL Server``) must be installed on the machine. ``login_timeout`` defaults to 10 s.
The default schema is ``dbo``.
"""

from __future__ import annotations

from typing import Any

from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.profiles.adapters.base import Adapter
from dbt_kickoff.profiles.fields import FieldReader
from dbt_kickoff.profiles.secrets import SecretEnv
from dbt_kickoff.profiles.urls import UrlParts

DEFAULT_SCHEMA = "dbo"
DEFAULT_DRIVER = "ODBC Driver 18 for SQL Server"
DEFAULT_LOGIN_TIMEOUT = 10
EXAMPLE = "mssql://user:password@host:1433/database"


def _from_url(parts: UrlParts) -> dict[str, Any]:
    segments = parts.path_segments
    if len(segments) > 1:
        raise ConfigurationError(f"{parts.scheme} URL {parts.redacted}: the path is just the DATABASE")
    return {
        "user": parts.username,
        "password": parts.password,
        "server": parts.host,
        "port": parts.port,
        "database": segments[0] if segments else None,
        **parts.query,
    }


def _build(f: FieldReader, secrets: SecretEnv) -> dict[str, Any]:
    output: dict[str, Any] = {
        "type": "sqlserver",
        "driver": f.text("driver", default=DEFAULT_DRIVER),
        "server": str(f.require("server", "host", hint=f"e.g. {EXAMPLE}")),
        "port": f.port(1433),
        "database": str(f.require("database", hint=f"add the database to the URL path: {EXAMPLE}")),
        "schema": f.schema("schema", default=DEFAULT_SCHEMA),
    }
    authentication = f.text("authentication", default="sql")
    output["authentication"] = authentication
    user = f.text("user", "username", "UID")
    password = f.get("password", "PWD")
    if authentication == "sql" and (user is None or password is None):
        raise ConfigurationError(
            f"mssql destination {f.ctx.where} needs a user and password for SQL authentication "
            f"(e.g. {EXAMPLE}), or set authentication (e.g. ActiveDirectoryServicePrincipal)"
        )
    if user is not None:
        output["user"] = user
    if password is not None:
        output["password"] = secrets.ref("PASSWORD", password)
    output["encrypt"] = f.boolean("encrypt", "Encrypt", default=True)
    output["trust_cert"] = f.boolean("trust_cert", "TrustServerCertificate", default=False)
    timeout = f.ctx.connect_timeout
    output["login_timeout"] = (
        max(1, round(timeout)) if timeout is not None
        else f.integer("login_timeout", "connect_timeout", default=DEFAULT_LOGIN_TIMEOUT, low=0)
    )
    retries = f.integer("retries", low=0)
    if retries is not None:
        output["retries"] = retries
    for name in ("tenant_id", "client_id"):
        value = f.text(name)
        if value:
            output[name] = value
    secret = f.get("client_secret")
    if secret is not None:
        output["client_secret"] = secrets.ref("MSSQL_CLIENT_SECRET", secret)
    return output


MSSQL = Adapter(
    name="mssql",
    adapter_type="sqlserver",
    packages=("dbt-sqlserver",),
    build=_build,
    from_url=_from_url,
    schemes=("mssql", "sqlserver", "mssql+pyodbc"),
    aliases=("sqlserver",),
    url_forms=("mssql://USER:PASSWORD@HOST:1433/DATABASE?driver=ODBC+Driver+18+for+SQL+Server&trust_cert=true",),
)
