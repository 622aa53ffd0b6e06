"""The real dbt v2 engine (dbt Fusion, installed by get_venv) on the tests' real PostgreSQL server, offline."""

from __future__ import annotations

import json
import time
from pathlib import Path

import psycopg2
import pytest
from tests.fusion.driver import FUSION_VERSION
from tests.postgres_server import PostgresServer

import dbt_kickoff
from dbt_kickoff.cli.main import main
from dbt_kickoff.engines import DbtEvent
from dbt_kickoff.environments.venv import Venv
from dbt_kickoff.errors import DbtCancelled, DBTProcessingError, PrerequisitesException

pytestmark = pytest.mark.slow

EXPECTED_NODES = {
    "seed.fusion_small.customers",
    "model.fusion_small.stg_customers",
    "model.fusion_small.customers_per_country",
}


def _outcomes(results: list[dbt_kickoff.NodeResult]) -> dict[str, str]:
    return {r.unique_id: r.status for r in results}


def test_the_venv_is_the_v2_engine_run_by_the_subprocess_engine(fusion_venv: Venv) -> None:
    assert fusion_venv.engine == "v2"
    assert fusion_venv.requirements == (f"dbt=={FUSION_VERSION}",)
    assert fusion_venv.engine_version.startswith("dbt-fusion 2.")
    environment = fusion_venv.environment
    assert (environment.engine, environment.exit_codes) == ("subprocess", "v2")
    assert environment.dbt_executable == fusion_venv.path / "bin" / "dbt"
    assert dbt_kickoff.get_venv("postgres", dbt_version="2.0.0-preview.196") == fusion_venv  # same release


def test_venv_list_shows_the_engine(fusion_venv: Venv, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["venv", "list", "--venv-dir", str(fusion_venv.path.parent)]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith(fusion_venv.key))
    assert f"v2 fusion dbt {fusion_venv.dbt_version}" in line
    assert main(["venv", "list", "--venv-dir", str(fusion_venv.path.parent), "--json"]) == 0
    entry = next(e for e in json.loads(capsys.readouterr().out) if e["key"] == fusion_venv.key)
    assert entry["engine"] == "v2" and entry["engine_version"] == fusion_venv.engine_version


def test_same_package_same_nodes_and_statuses_on_v1_and_v2(
    fusion_env: Venv, postgres: PostgresServer, package_copy: Path
) -> None:
    with dbt_kickoff.package(postgres.url(), package_copy, dataset_name="fusion_same_v1") as v1:
        v1_results = v1.build()
    events: list[DbtEvent] = []
    with dbt_kickoff.package(postgres.url(), package_copy, venv=fusion_env, dataset_name="fusion_same_v2",
                             on_event=events.append) as v2:
        v2_results = v2.build()
        assert v2.dbt_version == "2.0.0-preview.196" and (v1.dbt_version or "").startswith("1.")
    assert _outcomes(v2_results) == _outcomes(v1_results)
    assert set(_outcomes(v2_results)) >= EXPECTED_NODES
    assert {r.status for r in v2_results} == {"success", "pass"}
    by_id = {r.unique_id: r for r in v2_results}
    assert by_id["seed.fusion_small.customers"].rows_affected == 3
    assert by_id["model.fusion_small.stg_customers"].model_name == "stg_customers"
    assert all(r.time > 0 and r.message for r in v2_results)
    finished = {e.node.unique_id: e.node.status for e in events if e.finished and e.node}
    assert finished == _outcomes(v2_results)  # live progress from v2's logs agrees with its artifact
    started = {e.node.unique_id for e in events if e.name == "NodeStart" and e.node}
    assert started == set(finished)
    with psycopg2.connect(postgres.url()) as con, con.cursor() as cur:
        cur.execute("select country, customers from fusion_same_v2.customers_per_country order by country")
        assert cur.fetchall() == [("FI", 1), ("UK", 1), ("US", 1)]


def test_failing_model_and_failing_test_raise_naming_them(
    fusion_env: Venv, postgres: PostgresServer, package_copy: Path
) -> None:
    (package_copy / "models" / "broken.sql").write_text("select * from no_such_table_anywhere\n")
    (package_copy / "models" / "after_broken.sql").write_text("select * from {{ ref('broken') }}\n")
    schema = package_copy / "models" / "schema.yml"
    schema.write_text(schema.read_text().replace('["UK", "US", "FI"]', '["UK", "US"]'))
    with dbt_kickoff.package(postgres.url(), package_copy, venv=fusion_env, dataset_name="fusion_fail") as runner:
        with pytest.raises(DBTProcessingError) as caught:
            runner.build()
    error = caught.value
    statuses = _outcomes(error.run_results)
    assert statuses["model.fusion_small.broken"] == "error"
    assert statuses["model.fusion_small.after_broken"] == "skipped"
    failed_test = next(r for r in error.run_results if r.unique_id.startswith("test.fusion_small.accepted_values"))
    assert (failed_test.status, failed_test.failures) == ("fail", 1)
    assert failed_test.message == "Got 1 failing row"
    text = str(error)
    assert "model broken [error]" in text and "no_such_table_anywhere" in text
    assert f"test {failed_test.model_name} [fail]" in text
    assert "<unknown>" not in text  # no Rust backtrace in messages


def test_v1_only_package_gets_the_compatibility_error(
    fusion_env: Venv, postgres: PostgresServer, package_copy: Path
) -> None:
    project = package_copy / "dbt_project.yml"
    project.write_text(project.read_text().replace("+materialized: table", "materialized: table"))
    schema = package_copy / "models" / "schema.yml"
    v1_style = schema.read_text().replace("              arguments:\n                values", "              values")
    schema.write_text(v1_style)  # test arguments beside the test's name, not under arguments:
    with dbt_kickoff.package(postgres.url(), package_copy, venv=fusion_env, dataset_name="fusion_v1only") as runner:
        with pytest.raises(PrerequisitesException) as caught:
            runner.build()
    text = str(caught.value)
    assert "dbt1013" in text and "dbt_project.yml:9" in text
    assert "dbt1159" in text and "models/schema.yml:" in text
    assert "dbt-autofix" in text and str(package_copy) in text  # the fix names the folder to fix
    with dbt_kickoff.package(postgres.url(), package_copy, dataset_name="fusion_v1only") as v1:
        assert {r.status for r in v1.build()} == {"success", "pass"}  # the same package is fine on v1


def test_without_the_experimental_opt_in_the_error_says_how(
    fusion_env: Venv, postgres: PostgresServer, package_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DBT_ALLOW_EXPERIMENTAL_ADAPTERS")
    with dbt_kickoff.package(postgres.url(), package_copy, venv=fusion_env, dataset_name="fusion_optin") as runner:
        with pytest.raises(PrerequisitesException, match="DBT_ALLOW_EXPERIMENTAL_ADAPTERS=true"):
            runner.build()


def test_missing_driver_gives_a_clear_error(
    fusion_env: Venv, postgres: PostgresServer, package_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))  # no driver there; no network here
    with dbt_kickoff.package(postgres.url(), package_copy, venv=fusion_env, dataset_name="fusion_nodriver") as runner:
        with pytest.raises(PrerequisitesException, match=r"database driver .*com\.getdbt/adbc"):
            runner.build()


def test_timeout_stops_v2_and_its_query(fusion_env: Venv, postgres: PostgresServer, package_copy: Path) -> None:
    (package_copy / "models" / "slow.sql").write_text("select 1 as done from (select pg_sleep(300)) as s\n")
    with dbt_kickoff.package(postgres.url(), package_copy, venv=fusion_env, dataset_name="fusion_timeout",
                             command_timeout=8) as runner:
        with pytest.raises(DbtCancelled, match="timed out"):
            runner.run(["--select", "slow"])
    with psycopg2.connect(postgres.url()) as con, con.cursor() as cur:
        for _ in range(50):  # the server ends the backend shortly after the cancel
            cur.execute(
                "select count(*) from pg_stat_activity where query like '%pg_sleep(300)%' and pid <> pg_backend_pid()"
            )
            if cur.fetchone() == (0,):
                break
            time.sleep(0.2)
        else:
            pytest.fail("the v2 engine's query is still running after the timeout")


def test_transform_loaded_selects_from_v2s_manifest(
    fusion_env: Venv, postgres: PostgresServer, package_copy: Path
) -> None:
    with psycopg2.connect(postgres.url()) as con, con.cursor() as cur:
        cur.execute("create schema if not exists fusion_raw; drop table if exists fusion_raw.orders; "
                    "create table fusion_raw.orders as select 1 as id, 10 as amount")
    (package_copy / "models" / "sources.yml").write_text(
        "version: 2\nsources:\n  - name: raw\n    schema: fusion_raw\n    tables:\n      - name: orders\n"
    )
    model = package_copy / "models" / "order_total.sql"
    model.write_text("select sum(amount) as total from {{ source('raw', 'orders') }}\n")
    with dbt_kickoff.package(postgres.url(), package_copy, venv=fusion_env, dataset_name="fusion_loaded") as runner:
        assert runner.transform_loaded(["fusion_raw.customers_elsewhere"]) == []  # no source reads it: no dbt
        results = runner.transform_loaded(["fusion_raw.orders"])
    assert _outcomes(results) == {"model.fusion_small.order_total": "success"}
