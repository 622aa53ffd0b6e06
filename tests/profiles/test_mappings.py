"""Mapping destinations (dbt-shaped and dlt-shaped) for every adapter, and bad mappings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dbt_kickoff.errors import ConfigurationError, PrerequisitesException
from dbt_kickoff.profiles import Profile, dbt_packages_for, resolve_destination, supported_types
from tests.profiles.helpers import assert_required, assert_secrets_hidden

PW = "m4pping-Secret!"
PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"


def resolve(destination: object, **kwargs: object) -> Profile:
    profile = resolve_destination(destination, **kwargs)  # type: ignore[arg-type]
    assert profile is not None
    return profile


def test_none_means_the_package_profiles() -> None:
    assert resolve_destination(None) is None


def test_a_profile_is_returned_as_is(tmp_path: Path) -> None:
    profile = resolve(f"duckdb:///{tmp_path}/x.duckdb")
    assert resolve_destination(profile) is profile
    assert resolve(profile, dataset_name="marts").schema == "marts"


def test_path_object_is_a_duckdb_file(tmp_path: Path) -> None:
    profile = resolve(tmp_path / "w.duckdb", dataset_name="raw")
    assert profile.output["path"] == str(tmp_path / "w.duckdb") and profile.output["schema"] == "raw"


def test_postgres_mapping_passes_extra_dbt_fields_and_hides_secret_like_ones() -> None:
    profile = resolve(
        {
            "type": "postgres",
            "host": "h",
            "user": "u",
            "password": PW,
            "dbname": "d",
            "schema": "s",
            "keepalives_idle": 5,
            "search_path": "s,public",
            "sslpassword": "key-" + PW,
            "threads": 8,
        },
    )
    assert_required(profile, "host", "user", "password", "port", "dbname", "schema")
    assert_secrets_hidden(profile, PW, "key-" + PW)
    assert profile.output["keepalives_idle"] == 5 and profile.output["search_path"] == "s,public"
    assert profile.output["threads"] == 8 and profile.output["schema"] == "s"


def test_dlt_shaped_mapping_uses_dataset_and_ignores_dlt_only_fields() -> None:
    profile = resolve(
        {
            "type": "postgres",
            "dataset_name": "raw_events",
            "credentials": {
                "drivername": "postgresql",
                "username": "u",
                "password": PW,
                "host": "h",
                "port": 5433,
                "database": "d",
                "client_encoding": "utf8",
                "sslmode": "prefer",
            },
        },
    )
    assert profile.output["schema"] == "raw_events" and profile.source_dataset_name == "raw_events"
    assert (profile.output["user"], profile.output["dbname"], profile.output["port"]) == ("u", "d", 5433)
    assert "drivername" not in profile.output and "client_encoding" not in profile.output
    assert profile.output["sslmode"] == "prefer"
    assert_secrets_hidden(profile, PW)
    explicit = resolve(
        {
            "type": "postgres",
            "dataset_name": "raw_events",
            "credentials": {"username": "u", "password": PW, "host": "h", "database": "d"},
        },
        dataset_name="marts",
    )
    assert explicit.output["schema"] == "marts" and explicit.source_dataset_name == "raw_events"


def test_snowflake_key_pair_content_and_passphrase() -> None:
    profile = resolve(
        {
            "type": "snowflake",
            "account": "acct",
            "user": "u",
            "database": "DB",
            "warehouse": "WH",
            "private_key": PEM,
            "private_key_passphrase": PW,
            "role": "R",
        }
    )
    assert_required(profile, "account", "user", "database", "warehouse", "schema", "private_key")
    assert_secrets_hidden(profile, PEM, PW)
    assert "password" not in profile.output
    assert profile.secret_env["DBT_ENV_SECRET_SNOWFLAKE_PRIVATE_KEY"] == PEM


def test_snowflake_key_pair_path(tmp_path: Path) -> None:
    key = tmp_path / "rsa_key.p8"
    key.write_text(PEM)
    profile = resolve(
        {
            "type": "snowflake",
            "host": "acct",
            "username": "u",
            "database": "DB",
            "warehouse": "WH",
            "private_key_path": str(key),
            "private_key_passphrase": PW,
        }
    )
    assert profile.output["private_key_path"] == str(key) and profile.output["account"] == "acct"
    assert_secrets_hidden(profile, PW)


def test_snowflake_password_and_authenticator() -> None:
    pw = resolve(
        {"type": "snowflake", "account": "a", "user": "u", "password": PW, "database": "D", "warehouse": "W"}
    )
    assert_secrets_hidden(pw, PW)
    sso = resolve(
        {
            "type": "snowflake",
            "account": "a",
            "user": "u",
            "database": "D",
            "warehouse": "W",
            "authenticator": "externalbrowser",
        }
    )
    assert sso.output["authenticator"] == "externalbrowser" and sso.secret_env == {}


SERVICE_ACCOUNT = {
    "type": "service_account",
    "project_id": "proj",
    "private_key_id": "kid123456",
    "private_key": PEM,
    "client_email": "sa@proj.iam.gserviceaccount.com",
    "client_id": "1",
    "token_uri": "https://oauth2.googleapis.com/token",
}


@pytest.mark.parametrize("keyfile", [SERVICE_ACCOUNT, json.dumps(SERVICE_ACCOUNT)])
def test_bigquery_service_account_json(keyfile: object) -> None:
    profile = resolve({"type": "bigquery", "keyfile_json": keyfile, "dataset": "raw", "location": "EU"})
    assert_required(profile, "method", "project", "dataset", "keyfile_json")
    assert profile.output["method"] == "service-account-json" and profile.output["project"] == "proj"
    assert profile.output["keyfile_json"]["client_email"] == "sa@proj.iam.gserviceaccount.com"
    assert_secrets_hidden(profile, PEM, "kid123456")


def test_bigquery_dlt_service_account_fields_and_adc() -> None:
    dlt_sa = resolve(
        {
            "type": "bigquery",
            "dataset_name": "raw",
            "location": "US",
            "credentials": {
                "project_id": "proj",
                "private_key": PEM,
                "client_email": "sa@x",
                "private_key_id": "k1234",
            },
        }
    )
    assert dlt_sa.output["method"] == "service-account-json" and dlt_sa.output["dataset"] == "raw"
    assert_secrets_hidden(dlt_sa, PEM)
    adc = resolve({"type": "bigquery", "dataset_name": "raw", "credentials": {"project_id": "proj"}})
    assert adc.output == {
        "type": "bigquery",
        "project": "proj",
        "method": "oauth",
        "dataset": "raw",
        "threads": 4,
    }


def test_bigquery_oauth_secrets() -> None:
    profile = resolve(
        {
            "type": "bigquery",
            "project": "p",
            "refresh_token": "rt-" + PW,
            "client_id": "cid",
            "client_secret": "cs-" + PW,
        }
    )
    assert profile.output["method"] == "oauth-secrets"
    assert_secrets_hidden(profile, "rt-" + PW, "cs-" + PW)


def test_databricks_token_and_oauth() -> None:
    token = resolve(
        {
            "type": "databricks",
            "server_hostname": "h.cloud.databricks.com",
            "http_path": "/sql/1.0/warehouses/x",
            "access_token": PW,
            "catalog": "main",
        }
    )
    assert_required(token, "host", "http_path", "schema", "token")
    assert_secrets_hidden(token, PW)
    m2m = resolve(
        {"type": "databricks", "host": "h", "http_path": "p", "client_id": "cid", "client_secret": PW}
    )
    assert m2m.output["auth_type"] == "oauth" and m2m.output["http_path"] == "/p"
    assert_secrets_hidden(m2m, PW)


def test_mssql_dlt_credentials() -> None:
    profile = resolve(
        {
            "type": "mssql",
            "dataset_name": "raw",
            "credentials": {
                "username": "sa",
                "password": PW,
                "host": "sql",
                "port": 1433,
                "database": "wh",
                "connect_timeout": 30,
                "driver": "ODBC Driver 17 for SQL Server",
                "TrustServerCertificate": "yes",
            },
        }
    )
    assert profile.adapter_type == "sqlserver" and profile.dbt_packages == ("dbt-sqlserver",)
    assert_required(profile, "driver", "server", "port", "database", "schema", "user", "password")
    assert profile.output["trust_cert"] is True and profile.output["login_timeout"] == 30
    assert_secrets_hidden(profile, PW)


def test_athena_dlt_fields() -> None:
    profile = resolve(
        {
            "type": "athena",
            "dataset_name": "raw",
            "credentials": {
                "aws_access_key_id": "AKIA1",
                "aws_secret_access_key": PW,
                "aws_session_token": "st-" + PW,
                "region_name": "eu-central-1",
                "query_result_bucket": "s3://bucket/results",
                "athena_work_group": "wg",
                "aws_data_catalog": "awsdatacatalog",
            },
        }
    )
    assert_required(profile, "s3_staging_dir", "region_name", "database", "schema", "work_group")
    assert_secrets_hidden(profile, PW, "st-" + PW, "AKIA1")


def test_clickhouse_dlt_uses_http_port_and_keeps_database() -> None:
    profile = resolve(
        {
            "type": "clickhouse",
            "dataset_name": "raw",
            "credentials": {
                "host": "ch",
                "port": 9440,
                "http_port": 8443,
                "username": "default",
                "password": PW,
                "database": "analytics",
                "secure": 1,
            },
        }
    )
    assert (profile.output["port"], profile.output["schema"], profile.output["secure"]) == (
        8443,
        "analytics",
        True,
    )
    assert profile.source_dataset_name == "raw"
    assert_secrets_hidden(profile, PW)


def test_trino_ldap_and_motherduck_mapping() -> None:
    trino = resolve({"type": "trino", "user": "u", "password": PW, "host": "t", "database": "hive"})
    assert (trino.output["method"], trino.output["http_scheme"], trino.output["port"]) == (
        "ldap",
        "https",
        443,
    )
    assert_secrets_hidden(trino, PW)
    md = resolve(
        {"type": "motherduck", "credentials": {"database": "db1", "password": PW}, "dataset_name": "raw"}
    )
    assert md.output["path"] == "md:db1" and md.output["schema"] == "raw"
    assert_secrets_hidden(md, PW)


def test_redshift_mapping() -> None:
    profile = resolve({"type": "redshift", "host": "r", "user": "u", "password": PW, "dbname": "dev"})
    assert profile.output["port"] == 5439 and profile.output["method"] == "database"
    assert_secrets_hidden(profile, PW)


@pytest.mark.parametrize(
    ("kind", "packages"),
    [
        ("duckdb", ("dbt-duckdb",)),
        ("motherduck", ("dbt-duckdb",)),
        ("postgres", ("dbt-postgres",)),
        ("mssql", ("dbt-sqlserver",)),
        ("sqlserver", ("dbt-sqlserver",)),
        ("athena", ("dbt-athena-community",)),
        ("BigQuery", ("dbt-bigquery",)),
        ("dlt.destinations.snowflake", ("dbt-snowflake",)),
    ],
)
def test_dbt_packages_for(kind: str, packages: tuple[str, ...]) -> None:
    assert dbt_packages_for(kind) == packages


def test_every_type_has_packages() -> None:
    assert all(dbt_packages_for(t) and dbt_packages_for(t)[0].startswith("dbt-") for t in supported_types())


@pytest.mark.parametrize(
    ("mapping", "expected"),
    [
        ({"host": "h"}, "no 'type' key"),
        ({"type": "oracle", "host": "h"}, "unknown destination type 'oracle'"),
        (
            {"type": "postgres", "credentials": "postgresql://u:" + PW + "@h/d"},
            "'credentials' must be a mapping",
        ),
        ({"type": "postgres", "host": "h", "user": "u", "password": PW}, "missing 'dbname'"),
        ({"type": "postgres", "host": "h", "user": "u", "dbname": "d", "port": "x" + PW}, "'port' must be"),
        ({"type": "duckdb", "path": ":memory:"}, "in-memory"),
        ({"type": "duckdb", "path": "md:db"}, "use type 'motherduck'"),
        ({"type": "bigquery", "project": "p", "keyfile_json": "{not json " + PW}, "could not be read"),
        ({"type": "bigquery", "keyfile_json": {"project_id": "p", "private_key": PW}}, "lacks client_email"),
        (
            {"type": "athena", "s3_staging_dir": "s3://b/", "region_name": "r", "aws_access_key_id": "AKIA"},
            "give both",
        ),
        ({"type": "trino", "method": "ldap", "user": "u", "host": "h", "database": "c"}, "needs a password"),
        ({"type": "postgres", "host": "h", "user": "u", "dbname": "d", "threads": "many"}, "threads"),
    ],
)
def test_bad_mappings(mapping: dict[str, object], expected: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve_destination(mapping)
    assert expected in str(info.value)
    assert PW not in str(info.value)


def test_nested_and_typed_secrets_in_pass_through_fields(tmp_path: Path) -> None:
    profile = resolve(
        {
            "type": "duckdb",
            "path": str(tmp_path / "x.duckdb"),
            "settings": {"s3_region": "eu-west-1", "s3_secret_access_key": PW},
            "secrets": [{"type": "s3", "key_id": "AKIA", "secret": "s-" + PW}],
            "api_token_ttl": 3600,
            "token_refresh": True,
            "credentials_json_map": {"inner": "c-" + PW},
        },
    )
    out = profile.output
    assert out["settings"]["s3_region"] == "eu-west-1"
    assert "AKIA" not in repr(out)  # everything under a secret-named key is hidden
    assert out["api_token_ttl"].endswith("| as_number }}") and out["token_refresh"].endswith("| as_bool }}")
    assert profile.secret_env[out["api_token_ttl"].split("'")[1]] == "3600"
    assert_secrets_hidden(profile, PW, "s-" + PW, "c-" + PW)


def test_unsupported_destination_object() -> None:
    with pytest.raises(PrerequisitesException, match="unsupported destination of type int"):
        resolve_destination(42)


def test_secret_env_names_never_collide() -> None:
    from dbt_kickoff.profiles.secrets import SecretEnv

    secrets = SecretEnv()
    first, second, same = (
        secrets.ref("password", "a1"),
        secrets.ref("PASSWORD", "b2"),
        secrets.ref("password", "a1"),
    )
    assert first == same != second
    assert secrets.values == {"DBT_ENV_SECRET_PASSWORD": "a1", "DBT_ENV_SECRET_PASSWORD_2": "b2"}
