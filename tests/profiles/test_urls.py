"""Destination URLs of every adapter -> dbt profile outputs; URL errors never show a secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.profiles import redact_url, resolve_destination
from tests.profiles.helpers import assert_required, assert_secrets_hidden

SECRET = "Sup3r/S3cret@pw"
ENCODED = "Sup3r%2FS3cret%40pw"


def test_duckdb_relative_url_is_resolved_against_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    profile = resolve_destination("duckdb:///data/warehouse.duckdb?schema=raw", dataset_name=None)
    assert profile is not None
    assert profile.output == {
        "type": "duckdb",
        "path": str(tmp_path / "data" / "warehouse.duckdb"),
        "schema": "raw",
        "threads": 4,
    }
    assert profile.dbt_packages == ("dbt-duckdb",) and profile.destination_type == "duckdb"
    assert profile.secret_env == {} and profile.source_dataset_name is None


def test_duckdb_absolute_url_and_defaults(tmp_path: Path) -> None:
    profile = resolve_destination(f"duckdb:///{tmp_path}/w.duckdb", threads=2)
    assert profile is not None
    assert profile.output["path"] == str(tmp_path / "w.duckdb")
    assert profile.output["schema"] == "main" and profile.output["threads"] == 2
    assert "extensions" not in profile.output and "settings" not in profile.output


def test_dataset_name_overrides_url_schema(tmp_path: Path) -> None:
    profile = resolve_destination(f"duckdb:///{tmp_path}/w.duckdb?schema=raw", dataset_name="marts")
    assert profile is not None and profile.output["schema"] == "marts"


def test_postgres_url_with_query_params() -> None:
    url = f"postgresql://loader:{ENCODED}@db.example.com:6543/warehouse?sslmode=require&schema=raw"
    profile = resolve_destination(url, connect_timeout=3)
    assert profile is not None
    assert_required(profile, "type", "host", "user", "password", "port", "dbname", "schema")
    assert_secrets_hidden(profile, SECRET)
    out = profile.output
    assert (out["host"], out["port"], out["user"], out["dbname"], out["schema"]) == (
        "db.example.com",
        6543,
        "loader",
        "warehouse",
        "raw",
    )
    assert out["sslmode"] == "require" and out["connect_timeout"] == 3 and out["retries"] in (0, 1)


def test_postgres_scheme_alias_and_default_timeout() -> None:
    profile = resolve_destination("postgres://u:pw@h/db")
    assert profile is not None
    assert profile.output["port"] == 5432 and profile.output["schema"] == "public"
    assert profile.output["connect_timeout"] == 10


@pytest.mark.parametrize(
    ("url", "adapter_type", "required", "secrets", "packages"),
    [
        (
            f"redshift://u:{ENCODED}@cluster.abc.eu-west-1.redshift.amazonaws.com:5439/dev?sslmode=require",
            "redshift",
            ("host", "user", "password", "port", "dbname", "schema", "method"),
            (SECRET,),
            ("dbt-redshift",),
        ),
        (
            f"snowflake://u:{ENCODED}@xy12345.eu-west-1/ANALYTICS/RAW?warehouse=WH&role=LOADER",
            "snowflake",
            ("account", "user", "password", "database", "warehouse", "schema", "role"),
            (SECRET,),
            ("dbt-snowflake",),
        ),
        (
            "bigquery://my-project/raw_data?location=EU",
            "bigquery",
            ("method", "project", "dataset", "location"),
            (),
            ("dbt-bigquery",),
        ),
        (
            f"databricks://token:{ENCODED}@adb-1.2.azuredatabricks.net/sql/1.0/warehouses/abc?catalog=main&schema=raw",
            "databricks",
            ("host", "http_path", "schema", "token", "catalog"),
            (SECRET,),
            ("dbt-databricks",),
        ),
        (
            f"mssql://sa:{ENCODED}@sql.local:1433/warehouse?driver=ODBC+Driver+18+for+SQL+Server&trust_cert=true",
            "sqlserver",
            ("driver", "server", "port", "database", "schema", "user", "password"),
            (SECRET,),
            ("dbt-sqlserver",),
        ),
        (
            f"athena://AKIAEXAMPLE:{ENCODED}@athena.eu-west-1.amazonaws.com/raw?s3_staging_dir=s3://b/stage/&work_group=wg",
            "athena",
            ("s3_staging_dir", "region_name", "database", "schema", "work_group"),
            (SECRET, "AKIAEXAMPLE"),
            ("dbt-athena-community",),
        ),
        (
            f"clickhouse://default:{ENCODED}@ch.local:8123/analytics",
            "clickhouse",
            ("host", "port", "user", "schema", "password", "driver"),
            (SECRET,),
            ("dbt-clickhouse",),
        ),
        (
            f"trino://alice:{ENCODED}@trino.local:8443/hive/raw",
            "trino",
            ("method", "user", "host", "port", "database", "schema", "password", "http_scheme"),
            (SECRET,),
            ("dbt-trino",),
        ),
        (
            f"md:my_db?motherduck_token={ENCODED}",
            "duckdb",
            ("path", "schema", "motherduck_token"),
            (SECRET,),
            ("dbt-duckdb",),
        ),
    ],
)
def test_adapter_url_forms(
    url: str,
    adapter_type: str,
    required: tuple[str, ...],
    secrets: tuple[str, ...],
    packages: tuple[str, ...],
) -> None:
    profile = resolve_destination(url)
    assert profile is not None
    assert profile.adapter_type == adapter_type and profile.output["type"] == adapter_type
    assert profile.dbt_packages == packages
    assert_required(profile, *required)
    assert_secrets_hidden(profile, *secrets)


def test_url_details_per_adapter() -> None:
    sf = resolve_destination("snowflake://u:pw@acct/DB?warehouse=WH")
    assert sf is not None and sf.output["schema"] == "PUBLIC" and sf.output["connect_timeout"] == 10
    db = resolve_destination("databricks://token:t@host.cloud.databricks.com?http_path=/sql/1.0/warehouses/x")
    assert (
        db is not None
        and db.output["http_path"] == "/sql/1.0/warehouses/x"
        and db.output["schema"] == "default"
    )
    ms = resolve_destination("sqlserver://sa:pw@sql.local/wh")
    assert ms is not None and ms.destination_type == "mssql" and ms.output["port"] == 1433
    assert ms.output["schema"] == "dbo" and ms.output["encrypt"] is True and ms.output["login_timeout"] == 10
    ath = resolve_destination("athena:///raw?region_name=us-east-1&s3_staging_dir=s3://b/p/")
    assert (
        ath is not None
        and ath.output["region_name"] == "us-east-1"
        and ath.output["database"] == "awsdatacatalog"
    )
    assert "aws_access_key_id" not in ath.output
    ch = resolve_destination("clickhouse+native://u:pw@ch.local/db?secure=true")
    assert ch is not None and (ch.output["driver"], ch.output["port"], ch.output["secure"]) == (
        "native",
        9440,
        True,
    )
    tr = resolve_destination("trino://alice@trino.local/hive")
    assert tr is not None and (tr.output["method"], tr.output["http_scheme"], tr.output["port"]) == (
        "none",
        "http",
        8080,
    )
    md = resolve_destination("motherduck://tok123@Sales_DB")
    assert md is not None and md.output["path"] == "md:Sales_DB" and md.secret_env
    bq = resolve_destination("bigquery://proj/ds")
    assert bq is not None and bq.output["method"] == "oauth"


def test_bigquery_keyfile_path(tmp_path: Path) -> None:
    key = tmp_path / "sa.json"
    key.write_text("{}")
    profile = resolve_destination(f"bigquery://proj/ds?keyfile={key}")
    assert profile is not None and profile.output["method"] == "service-account"
    assert profile.output["keyfile"] == str(key)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"postgresql://u:{ENCODED}@host:5432/", "missing 'dbname'"),
        (f"postgresql://u:{ENCODED}@host", "missing 'dbname'"),
        (f"postgresql://u:{ENCODED}@host:99999/db", "port must be a number"),
        (f"postgresql://u:{ENCODED}@host:abc/db", "port must be a number"),
        (f"postgresql://u:{ENCODED}@host:0/db", "port must be a number"),
        (f"postgresql://u:{ENCODED}@[::1/db", "malformed"),
        (f"postgresql://u:{ENCODED}@host/db?sslmod=require", "unknown parameter(s) sslmod"),
        (f"postgresql://u:{ENCODED}@host/db/extra", "just the database name"),
        (f"postgresql://u:{ENCODED}@/db", "missing 'host'"),
        (f"oracle://u:{ENCODED}@host/db", "unknown URL scheme 'oracle:'"),
        ("duckdb:///:memory:", "in-memory"),
        ("duckdb://", "in-memory"),
        ("duckdb://somehost/x.duckdb", "names a host"),
        ("duckdb:///no/such/folder/x.duckdb", "does not exist"),
        ("warehouse.duckdb", "not a URL; write e.g. duckdb:///warehouse.duckdb"),
        (f"snowflake://u:{ENCODED}@acct/DB", "missing 'warehouse'"),
        ("snowflake://u@acct/DB?warehouse=W", "no credentials"),
        ("snowflake://u@acct/DB?warehouse=W&private_key_path=/no/such/key.p8", "not a readable file"),
        ("databricks://host.x/sql/1.0/w", "no credentials"),
        (f"athena://k:{ENCODED}@example.com/raw?s3_staging_dir=s3://b/", "athena.REGION.amazonaws.com"),
        ("athena:///raw?region_name=eu-west-1", "missing 's3_staging_dir'"),
        (f"trino://u:{ENCODED}@host/", "missing 'database'"),
        (f"clickhouse://u:{ENCODED}@h/db?driver=grpc", "driver must be http or native"),
        ("mssql://sa@sql.local/wh", "user and password"),
        ("bigquery:///ds", "missing 'project'"),
        (f"bigquery://u:{ENCODED}@proj/ds", "credentials do not go in the URL"),
        (f"postgresql://u:{ENCODED}@host/db?connect_timeout=soon", "'connect_timeout' must be an integer"),
    ],
)
def test_bad_urls_raise_clear_errors_without_secrets(url: str, expected: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve_destination(url)
    message = str(info.value)
    assert expected in message
    assert SECRET not in message and ENCODED not in message
    assert info.value.__cause__ is None or SECRET not in str(info.value.__cause__)


@pytest.mark.parametrize("raw", ["pa#ss-Wd9", "12/345-Wd9", "p?ss-Wd9", "p@ss/W#d9"])
def test_unencoded_special_characters_in_password(raw: str) -> None:
    url = f"postgresql://loader:{raw}@db.local:5432/wh?sslmode=require"
    with pytest.raises(ConfigurationError, match="percent-encode") as info:
        resolve_destination(url)
    assert raw not in str(info.value) and "loader:***@" in str(info.value)
    assert "Wd9" not in redact_url(url)


@pytest.mark.parametrize("text", [f"loader:{SECRET}@db.local/wh", f"{SECRET}@db.local", f"x y {ENCODED}@h"])
def test_url_without_scheme_never_shows_its_password(text: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve_destination(text)
    assert SECRET not in str(info.value) and ENCODED not in str(info.value)
    assert "Sup3r" not in redact_url(text)


def test_redact_url() -> None:
    assert redact_url("postgresql://user:pw@host:5432/db") == "postgresql://user:***@host:5432/db"
    # every query value is masked: a secret put by mistake in an ordinary parameter is not shown either
    assert redact_url("md:db?motherduck_token=abc&x=1") == "md:db?motherduck_token=***&x=***"
    assert redact_url("motherduck://tok@db") == "motherduck://***@db"
    assert "abc" not in redact_url("snowflake://u@a/db?private_key_passphrase=abc&warehouse=w")
    assert redact_url("postgresql://u:pw@[::1/db") == "postgresql://u:***@[::1/db"
    assert redact_url("postgresql://u:a/b#c@h/db") == "postgresql://u:***@h/db"


@pytest.mark.parametrize("threads", [0, -1, "4", True])
def test_bad_threads(threads: object, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="threads"):
        resolve_destination(f"duckdb:///{tmp_path}/x.duckdb", threads=threads)  # type: ignore[arg-type]


def test_bad_connect_timeout(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="connect_timeout"):
        resolve_destination("postgresql://u:p@h/db", connect_timeout=0)
