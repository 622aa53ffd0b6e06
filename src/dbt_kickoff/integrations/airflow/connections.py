"""Airflow connections -> dbt-kickoff destinations and dbt Cloud credentials.

:func:`destination_from_connection` maps one connection (any object with Airflow's ``conn_id``, ``conn_type``,
``host``, ``login``, ``password``, ``schema``, ``port`` and ``extra_dejson``) to the mapping
:func:`dbt_kickoff.package` accepts (``{"type": "postgres", "host": ...}``). It is pure, so it can be tested
without Airflow. :func:`connection_destination` returns a callable that fetches the connection again each time it
is called, so a short-lived token is fresh for each dbt command.

Connection types (Airflow's names) and the fields read:

- ``postgres``: host, port, login, password, schema (= the database), extra ``sslmode``, ``sslrootcert``...
- ``redshift``: as postgres (port 5439)
- ``snowflake``: login, password (or, with a private key, its passphrase), schema, extra ``account``,
  ``region``, ``warehouse``, ``database``, ``role``, ``authenticator``, ``private_key_file``,
  ``private_key_content``
- ``google_cloud_platform`` (BigQuery): extra ``project``, ``key_path`` or ``keyfile_dict``, ``location``
  (no key: application-default credentials)
- ``databricks``: host, password (a token; or extra ``token``), extra ``http_path``, ``catalog``
- ``duckdb``: host (the database file path; ``md:DB`` with the password as token for MotherDuck)

Provider-style extra keys (``extra__snowflake__account``) are read as well.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from dbt_kickoff.errors import ConfigurationError

DBT_CLOUD_CONN_TYPE = "dbt_cloud"


def _postgres(conn: Any, extra: Mapping[str, Any], kind: str) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "type": kind,
        "host": conn.host,
        "user": conn.login,
        "password": conn.password or "",
        "dbname": conn.schema or extra.get("database") or extra.get("dbname"),
    }
    if conn.port:
        fields["port"] = int(conn.port)
    for name in ("sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout", "keepalives_idle",
                 "application_name", "search_path", "role"):
        if extra.get(name) not in (None, ""):
            fields[name] = extra[name]
    return fields


def _redshift(conn: Any, extra: Mapping[str, Any], kind: str) -> dict[str, Any]:
    return _postgres(conn, extra, "redshift")


def _snowflake(conn: Any, extra: Mapping[str, Any], kind: str) -> dict[str, Any]:
    account = extra.get("account")
    region = extra.get("region")
    fields: dict[str, Any] = {
        "type": "snowflake",
        "account": f"{account}.{region}" if account and region and "." not in str(account) else account,
        "user": conn.login,
        "database": extra.get("database"),
        "warehouse": extra.get("warehouse"),
    }
    if conn.schema:
        fields["schema"] = conn.schema
    for name in ("role", "authenticator"):
        if extra.get(name):
            fields[name] = extra[name]
    key_content, key_file = extra.get("private_key_content"), extra.get("private_key_file")
    if key_content or key_file:  # Airflow's Snowflake hook reads the password as the key's passphrase
        fields["private_key" if key_content else "private_key_path"] = key_content or key_file
        if conn.password:
            fields["private_key_passphrase"] = conn.password
    elif conn.password:
        fields["password"] = conn.password
    return fields


def _bigquery(conn: Any, extra: Mapping[str, Any], kind: str) -> dict[str, Any]:
    fields: dict[str, Any] = {"type": "bigquery", "project": extra.get("project")}
    keyfile_dict = extra.get("keyfile_dict")
    if keyfile_dict:
        fields["keyfile_json"] = json.loads(keyfile_dict) if isinstance(keyfile_dict, str) else keyfile_dict
    elif extra.get("key_path"):
        fields["keyfile"] = extra["key_path"]
    if conn.schema:
        fields["dataset"] = conn.schema
    if extra.get("location"):
        fields["location"] = extra["location"]
    return fields


def _databricks(conn: Any, extra: Mapping[str, Any], kind: str) -> dict[str, Any]:
    host = str(conn.host or "").removeprefix("https://").rstrip("/")
    fields: dict[str, Any] = {
        "type": "databricks",
        "host": host,
        "http_path": extra.get("http_path") or extra.get("sql_endpoint_http_path"),
        "token": extra.get("token") or conn.password,
    }
    if extra.get("catalog"):
        fields["catalog"] = extra["catalog"]
    if conn.schema:
        fields["schema"] = conn.schema
    return fields


def _duckdb(conn: Any, extra: Mapping[str, Any], kind: str) -> dict[str, Any]:
    path = conn.host or extra.get("path") or extra.get("database")
    fields: dict[str, Any] = {"type": "duckdb", "path": path}
    if conn.password and str(path).startswith("md:"):
        fields["token"] = conn.password
    if conn.schema:
        fields["schema"] = conn.schema
    return fields


_MAPPERS: dict[str, Callable[[Any, Mapping[str, Any], str], dict[str, Any]]] = {
    "postgres": _postgres,
    "redshift": _redshift,
    "snowflake": _snowflake,
    "google_cloud_platform": _bigquery,
    "gcpbigquery": _bigquery,
    "databricks": _databricks,
    "duckdb": _duckdb,
}
SUPPORTED_CONNECTION_TYPES = tuple(_MAPPERS)
"""Airflow connection types :func:`destination_from_connection` maps (BigQuery is ``google_cloud_platform``)."""


def _extra(conn: Any, kind: str) -> dict[str, Any]:
    extra = getattr(conn, "extra_dejson", None) or {}
    prefix = f"extra__{kind}__"
    plain = {str(k): v for k, v in extra.items() if not str(k).startswith("extra__")}
    prefixed = {str(k)[len(prefix):]: v for k, v in extra.items() if str(k).startswith(prefix)}
    return {**prefixed, **plain}


def destination_from_connection(conn: Any) -> dict[str, Any]:
    """The destination mapping for an Airflow connection; :class:`ConfigurationError` for other types."""
    kind = str(getattr(conn, "conn_type", "") or "").lower().replace("-", "_")
    kind = {"postgresql": "postgres", "bigquery": "google_cloud_platform"}.get(kind, kind)
    mapper = _MAPPERS.get(kind)
    conn_id = getattr(conn, "conn_id", None)
    if mapper is None:
        raise ConfigurationError(
            f"Airflow connection {conn_id!r} has type {kind or '(none)'!r}, which dbt-kickoff cannot use as a "
            f"destination; use a connection of type {', '.join(SUPPORTED_CONNECTION_TYPES)}"
        )
    fields = {k: v for k, v in mapper(conn, _extra(conn, kind), kind).items() if v not in (None, "")}
    fields["_where"] = f"(Airflow connection {conn_id!r})"
    return fields


_DESTINATION_HINT = f"with one of the types {', '.join(SUPPORTED_CONNECTION_TYPES)}"
_CLOUD_HINT = (
    f"of type {DBT_CLOUD_CONN_TYPE!r}, with the account id as login, the API token as password and the access "
    "URL as host"
)


def _not_defined(conn_id: str, hint: str) -> ConfigurationError:
    return ConfigurationError(
        f"Airflow connection {conn_id!r} is not defined: add it (Admin > Connections, `airflow connections add`, "
        f"or the AIRFLOW_CONN_{conn_id.upper()} environment variable) {hint}"
    )


def get_connection(conn_id: str, hint: str = _DESTINATION_HINT) -> Any:
    """Airflow's connection ``conn_id``; an unknown id raises :class:`ConfigurationError` saying what to add."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        raise _not_defined(conn_id, hint) from None


def connection_destination(conn_id: str) -> Callable[[], dict[str, Any]]:
    """A callable returning the destination of Airflow connection ``conn_id``, fetched afresh on each call."""

    def destination() -> dict[str, Any]:
        return destination_from_connection(get_connection(conn_id))

    destination.__qualname__ = f"connection_destination({conn_id!r})"
    return destination


def cloud_credentials_from_connection(conn: Any) -> dict[str, Any]:
    """dbt Cloud credentials (``api_token``, ``account_id``, ``base_url``) from a ``dbt_cloud`` connection.

    As in Airflow's dbt Cloud provider: login = account id, password = API token, host = the access URL or
    tenant host (default ``cloud.getdbt.com``); extra ``account_id``/``base_url`` win when given.
    """
    extra = _extra(conn, DBT_CLOUD_CONN_TYPE)
    conn_id = getattr(conn, "conn_id", None)
    if not conn.password:
        raise ConfigurationError(f"Airflow connection {conn_id!r} has no password: put the dbt Cloud API token there")
    host = extra.get("base_url") or conn.host or "cloud.getdbt.com"
    if conn.port and ":" not in str(host).split("://")[-1]:
        host = f"{host}:{conn.port}"
    credentials: dict[str, Any] = {
        "api_token": conn.password,
        "account_id": extra.get("account_id") or conn.login,
        "base_url": host,
    }
    if extra.get("job_id"):
        credentials["job_id"] = extra["job_id"]
    return credentials


def cloud_credentials(conn_id: str) -> dict[str, Any]:
    """dbt Cloud credentials from Airflow connection ``conn_id`` (see :func:`cloud_credentials_from_connection`)."""
    return cloud_credentials_from_connection(get_connection(conn_id, _CLOUD_HINT))


async def acloud_credentials(conn_id: str) -> dict[str, Any]:
    """:func:`cloud_credentials` for async code (a trigger)."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        conn = await BaseHook.aget_connection(conn_id)
    except AirflowNotFoundException:
        raise _not_defined(conn_id, _CLOUD_HINT) from None
    return cloud_credentials_from_connection(conn)
