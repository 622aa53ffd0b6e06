"""Airflow connection fields -> destinations that dbt-kickoff's own profile builder accepts (no Airflow needed:
the mapping reads only the attributes every Airflow ``Connection`` has)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.integrations.airflow.connections import (
    SUPPORTED_CONNECTION_TYPES,
    cloud_credentials_from_connection,
    destination_from_connection,
)
from dbt_kickoff.profiles import resolve_destination

SECRET = "s3cr3t-value-42"


@dataclass
class Conn:
    """The attributes of an Airflow ``Connection`` the mapping reads."""

    conn_type: str
    conn_id: str = "warehouse"
    host: str | None = None
    login: str | None = None
    password: str | None = None
    schema: str | None = None
    port: int | None = None
    extra_dejson: dict[str, Any] = field(default_factory=dict)


def _profile_output(conn: Conn) -> tuple[dict[str, Any], dict[str, str]]:
    """The dbt profile output dbt-kickoff builds from the connection, and its secret environment."""
    profile = resolve_destination(destination_from_connection(conn))
    assert profile is not None
    return dict(profile.output), dict(profile.secret_env)


def test_postgres_schema_is_the_database_and_the_password_only_an_env_var() -> None:
    conn = Conn("postgres", host="db.internal", login="loader", password=SECRET, schema="analytics", port=5433,
                extra_dejson={"sslmode": "require"})
    output, secrets = _profile_output(conn)
    assert output["type"] == "postgres"
    assert (output["host"], output["user"], output["port"], output["dbname"], output["sslmode"]) == (
        "db.internal", "loader", 5433, "analytics", "require")
    assert SECRET not in json.dumps(output)
    assert SECRET in secrets.values()


def test_redshift_uses_the_redshift_adapter() -> None:
    output, _ = _profile_output(Conn("redshift", host="c.redshift.amazonaws.com", login="u", password=SECRET,
                                     schema="dev", port=5439))
    assert (output["type"], output["dbname"], output["port"]) == ("redshift", "dev", 5439)


def test_snowflake_password_and_key_pair_with_provider_style_extras() -> None:
    conn = Conn("snowflake", login="LOADER", password=SECRET, schema="RAW",
                extra_dejson={"extra__snowflake__account": "xy123", "region": "eu-central-1", "warehouse": "WH",
                              "database": "DB", "role": "TRANSFORMER"})
    output, secrets = _profile_output(conn)
    assert (output["account"], output["user"], output["warehouse"], output["database"], output["role"],
            output["schema"]) == ("xy123.eu-central-1", "LOADER", "WH", "DB", "TRANSFORMER", "RAW")
    assert SECRET in secrets.values() and SECRET not in json.dumps(output)

    key = Conn("snowflake", login="LOADER", password=SECRET,
               extra_dejson={"account": "xy123", "warehouse": "WH", "database": "DB",
                             "private_key_content": "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----"})
    output, secrets = _profile_output(key)
    assert "password" not in output and "private_key" in output and "private_key_passphrase" in output
    assert SECRET in secrets.values()


def test_bigquery_service_account_from_keyfile_dict(tmp_path: Path) -> None:
    keyfile = {"type": "service_account", "project_id": "acme", "private_key_id": "k1",
               "private_key": f"-----BEGIN PRIVATE KEY-----\n{SECRET}\n-----END PRIVATE KEY-----\n",
               "client_email": "dbt@acme.iam.gserviceaccount.com", "client_id": "1"}
    conn = Conn("google_cloud_platform", extra_dejson={"project": "acme", "keyfile_dict": json.dumps(keyfile),
                                                       "location": "EU"})
    output, _ = _profile_output(conn)
    assert (output["type"], output["project"], output["method"], output["location"]) == (
        "bigquery", "acme", "service-account-json", "EU")
    assert SECRET not in json.dumps(output)

    path_conn = Conn("google_cloud_platform", extra_dejson={"project": "acme", "key_path": str(tmp_path / "sa.json")})
    (tmp_path / "sa.json").write_text(json.dumps(keyfile))
    output, _ = _profile_output(path_conn)
    assert output["method"] == "service-account" and output["keyfile"] == str(tmp_path / "sa.json")


def test_databricks_token_in_the_password() -> None:
    conn = Conn("databricks", host="https://adb-1.azuredatabricks.net/", login="token", password=SECRET,
                extra_dejson={"http_path": "/sql/1.0/warehouses/abc", "catalog": "main"})
    output, secrets = _profile_output(conn)
    assert (output["host"], output["http_path"], output["catalog"]) == (
        "adb-1.azuredatabricks.net", "/sql/1.0/warehouses/abc", "main")
    assert SECRET in secrets.values() and SECRET not in json.dumps(output)


def test_duckdb_file_path_in_the_host(tmp_path: Path) -> None:
    output, secrets = _profile_output(Conn("duckdb", host=str(tmp_path / "shop.duckdb")))
    assert output["type"] == "duckdb" and output["path"] == str(tmp_path / "shop.duckdb")
    assert secrets == {}


def test_unsupported_type_names_the_supported_ones() -> None:
    with pytest.raises(ConfigurationError) as raised:
        destination_from_connection(Conn("http", conn_id="api", host="example.com", password=SECRET))
    message = str(raised.value)
    assert "'api'" in message and "'http'" in message
    for kind in SUPPORTED_CONNECTION_TYPES:
        assert kind in message
    assert SECRET not in message


def test_missing_fields_are_reported_with_the_connection_id() -> None:
    with pytest.raises(ConfigurationError, match=r"Airflow connection 'warehouse'"):
        resolve_destination(destination_from_connection(Conn("snowflake", login="u", password=SECRET)))


def test_dbt_cloud_credentials_from_the_provider_layout() -> None:
    conn = Conn("dbt_cloud", login="70", password=SECRET, host="ab123.us1.dbt.com")
    assert cloud_credentials_from_connection(conn) == {"api_token": SECRET, "account_id": "70",
                                                       "base_url": "ab123.us1.dbt.com"}
    local = Conn("dbt_cloud", login="1", password=SECRET, host="http://127.0.0.1", port=8123)
    assert cloud_credentials_from_connection(local)["base_url"] == "http://127.0.0.1:8123"
    with pytest.raises(ConfigurationError, match="API token"):
        cloud_credentials_from_connection(Conn("dbt_cloud", login="1"))
