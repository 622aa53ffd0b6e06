"""dlt pipelines (real DuckDB files, the real PostgreSQL fixture) -> dbt profiles."""

from __future__ import annotations

from pathlib import Path

import dlt
import duckdb
import pytest

from dbt_kickoff.errors import ConfigurationError, PrerequisitesException
from dbt_kickoff.integrations.dlt import destination_from_dlt, dlt_destination_type, is_dlt_object
from dbt_kickoff.profiles import resolve_destination
from tests.postgres_server import PostgresServer
from tests.profiles.helpers import assert_secrets_hidden

ROWS = [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]


def test_duckdb_pipeline_with_explicit_file(tmp_path: Path) -> None:
    db = tmp_path / "loaded.duckdb"
    pipeline = dlt.pipeline(
        "kick_duck_file",
        destination=dlt.destinations.duckdb(str(db)),
        dataset_name="raw_events",
        pipelines_dir=str(tmp_path / "pipes"),
    )
    pipeline.run(ROWS, table_name="users")
    profile = resolve_destination(pipeline)
    assert profile is not None
    assert profile.output["path"] == str(db) and profile.output["schema"] == "raw_events"
    assert profile.source_dataset_name == "raw_events" and profile.destination_type == "duckdb"
    assert profile.dbt_packages == ("dbt-duckdb",) and profile.secret_env == {}
    assert "extensions" not in profile.output
    with duckdb.connect(profile.output["path"], read_only=True) as con:
        assert con.execute("select count(*) from raw_events.users").fetchone() == (2,)


def test_duckdb_pipeline_default_file_is_in_the_working_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    pipeline = dlt.pipeline(
        "kick_duck_default", destination="duckdb", dataset_name="raw", pipelines_dir=str(tmp_path / "pipes")
    )
    pipeline.run(ROWS, table_name="users")
    profile = resolve_destination(pipeline, dataset_name="marts", threads=2)
    assert profile is not None
    assert profile.output["path"] == str(tmp_path / "kick_duck_default.duckdb")
    assert Path(profile.output["path"]).is_file()
    assert profile.output["schema"] == "marts" and profile.source_dataset_name == "raw"
    assert profile.output["threads"] == 2


def test_postgres_pipeline(postgres: PostgresServer, tmp_path: Path) -> None:
    pipeline = dlt.pipeline(
        "kick_pg",
        destination=dlt.destinations.postgres(postgres.url()),
        dataset_name="raw_pg",
        pipelines_dir=str(tmp_path / "pipes"),
    )
    pipeline.run(ROWS, table_name="users")
    profile = resolve_destination(pipeline)
    assert profile is not None
    out = profile.output
    assert (out["type"], out["host"], out["port"], out["user"], out["dbname"], out["schema"]) == (
        "postgres",
        postgres.host,
        postgres.port,
        postgres.user,
        postgres.dbname,
        "raw_pg",
    )
    assert profile.source_dataset_name == "raw_pg"
    assert_secrets_hidden(profile, postgres.password)
    mapping = destination_from_dlt(pipeline)
    assert mapping["type"] == "postgres" and mapping["dataset_name"] == "raw_pg"


def test_dataset_name_as_dlt_normalized_it(tmp_path: Path) -> None:
    db = tmp_path / "norm.duckdb"
    pipeline = dlt.pipeline(
        "kick_norm",
        destination=dlt.destinations.duckdb(str(db)),
        dataset_name="Raw Events",
        pipelines_dir=str(tmp_path / "pipes"),
    )
    pipeline.run(ROWS, table_name="users")
    profile = resolve_destination(pipeline)
    assert profile is not None
    assert profile.output["schema"] == "raw_events" and profile.source_dataset_name == "raw_events"
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select count(*) from raw_events.users").fetchone() == (2,)


def test_dlt_type_detection(tmp_path: Path) -> None:
    factory = dlt.destinations.postgres(destination_name="my_warehouse")
    assert is_dlt_object(factory) and not is_dlt_object({"type": "duckdb"})
    assert dlt_destination_type(factory) == "postgres"
    pipeline = dlt.pipeline("kick_type", destination="motherduck", pipelines_dir=str(tmp_path / "pipes"))
    assert dlt_destination_type(pipeline) == "motherduck"


def test_pipeline_without_destination(tmp_path: Path) -> None:
    pipeline = dlt.pipeline("kick_nodest", pipelines_dir=str(tmp_path / "pipes"))
    with pytest.raises(PrerequisitesException, match="has no destination"):
        resolve_destination(pipeline)


def test_pipeline_with_missing_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no .dlt/secrets.toml here
    pipeline = dlt.pipeline(
        "kick_nocreds", destination="postgres", dataset_name="x", pipelines_dir=str(tmp_path / "pipes")
    )
    with pytest.raises(
        PrerequisitesException, match="could not resolve its destination configuration"
    ) as info:
        resolve_destination(pipeline)
    assert info.value.__cause__ is None


def test_destination_factory_alone_is_refused() -> None:
    with pytest.raises(PrerequisitesException, match="pass the dlt Pipeline"):
        resolve_destination(dlt.destinations.duckdb("x.duckdb"))


def test_in_memory_duckdb_connection_is_refused(tmp_path: Path) -> None:
    con = duckdb.connect(":memory:")
    pipeline = dlt.pipeline(
        "kick_mem",
        destination=dlt.destinations.duckdb(con),
        dataset_name="x",
        pipelines_dir=str(tmp_path / "pipes"),
    )
    with pytest.raises(ConfigurationError, match="in-memory"):
        resolve_destination(pipeline)
    con.close()
