"""PostgreSQL (``dbt-postgres``) and Amazon Redshift (``dbt-redshift``).

URL forms::

    postgresql://USER:PASSWORD@HOST:5432/DBNAME?sslmode=require&schema=SCHEMA&connect_timeout=10
    postgres://USER:PASSWORD@HOST/DBNAME
    redshift://USER:PASSWORD@HOST:5439/DBNAME?sslmode=require&schema=SCHEMA

Query parameters: ``schema``, ``sslmode``, ``sslcert``, ``sslkey``, ``sslrootcert``, ``connect_timeout``,
``keepalives_idle``, ``application_name``, ``role``, ``search_path``, ``retries`` (redshift also ``method``,
``cluster_id``, ``iam_profile``, ``region``, ``ra3_node``). Percent-encode special characters in the password.
Mapping fields are dbt's (``host``, ``user``, ``password``, ``port``, ``dbname``, ``schema``...) or dlt's
(``username``, ``database``). ``connect_timeout`` defaults to 10 s and ``retries`` to 1, so an unreachable
host fails in bounded time. The default schema is ``public``.
"""

from __future__ import annotations

from typing import Any

from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.profiles.adapters.base import Adapter
from dbt_kickoff.profiles.fields import FieldReader
from dbt_kickoff.profiles.secrets import SecretEnv
from dbt_kickoff.profiles.urls import UrlParts

DEFAULT_SCHEMA = "public"
DEFAULT_CONNECT_TIMEOUT = 10
DEFAULT_RETRIES = 1
_OPTIONAL_TEXT = ("sslmode", "sslcert", "sslkey", "sslrootcert", "application_name", "role", "search_path")
_REDSHIFT_EXTRA = ("method", "cluster_id", "iam_profile", "region", "ra3_node", "autocommit", "autocreate")


def _from_url(parts: UrlParts) -> dict[str, Any]:
    segments = parts.path_segments
    if len(segments) > 1:
        raise ConfigurationError(
            f"{parts.scheme} URL {parts.redacted}: the path must be just the database name, "
            f"e.g. {parts.scheme}://user:password@host:5432/dbname"
        )
    return {
        "user": parts.username,
        "password": parts.password,
        "host": parts.host,
        "port": parts.port,
        "dbname": segments[0] if segments else None,
        **parts.query,
    }


def _connection(f: FieldReader, secrets: SecretEnv, default_port: int, example: str) -> dict[str, Any]:
    hint = f"give it in the URL, e.g. {example}"
    output: dict[str, Any] = {
        "host": str(f.require("host", hint=hint)),
        "port": f.port(default_port),
        "user": str(f.require("user", "username", hint=hint)),
        "dbname": str(f.require("dbname", "database", hint=f"add the database to the URL path: {example}")),
        "schema": f.schema("schema", default=DEFAULT_SCHEMA),
    }
    password = f.get("password", "pass")
    if password is not None:
        output["password"] = secrets.ref("PASSWORD", password)
    timeout = f.ctx.connect_timeout
    output["connect_timeout"] = (
        max(1, round(timeout)) if timeout is not None
        else f.integer("connect_timeout", default=DEFAULT_CONNECT_TIMEOUT, low=1)
    )
    output["retries"] = f.integer("retries", default=DEFAULT_RETRIES, low=0)
    keepalives = f.integer("keepalives_idle", low=0)
    if keepalives is not None:
        output["keepalives_idle"] = keepalives
    for name in _OPTIONAL_TEXT:
        value = f.text(name)
        if value is not None:
            output[name] = value
    return output


def _build_postgres(f: FieldReader, secrets: SecretEnv) -> dict[str, Any]:
    example = "postgresql://user:password@host:5432/dbname"
    return {"type": "postgres", **_connection(f, secrets, 5432, example)}


def _build_redshift(f: FieldReader, secrets: SecretEnv) -> dict[str, Any]:
    output = {"type": "redshift", **_connection(f, secrets, 5439, "redshift://user:password@host:5439/dbname")}
    output["method"] = f.text("method", default="database")
    for name in _REDSHIFT_EXTRA[1:]:
        value = f.get(name)
        if value is not None:
            output[name] = f.boolean(name) if name in ("ra3_node", "autocommit", "autocreate") else str(value)
    return output


POSTGRES = Adapter(
    name="postgres",
    adapter_type="postgres",
    packages=("dbt-postgres",),
    build=_build_postgres,
    from_url=_from_url,
    schemes=("postgresql", "postgres", "postgresql+psycopg2", "postgresql+psycopg"),
    aliases=("postgresql",),
    url_forms=("postgresql://USER:PASSWORD@HOST:5432/DBNAME?sslmode=require&schema=SCHEMA",
               "postgres://USER:PASSWORD@HOST/DBNAME"),
)

REDSHIFT = Adapter(
    name="redshift",
    adapter_type="redshift",
    packages=("dbt-redshift",),
    build=_build_redshift,
    from_url=_from_url,
    schemes=("redshift", "redshift+psycopg2", "redshift+redshift_connector"),
    url_forms=("redshift://USER:PASSWORD@HOST:5439/DBNAME?sslmode=require&schema=SCHEMA",),
)
