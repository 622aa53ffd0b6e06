"""The real dbt v2 engine on DuckDB through dbt-kickoff, offline: its driver (``libduckdb.so``, staged by the
tests from its npm package) given as ``drivers=`` or ``ADBC_DRIVER_PATH``, and the errors when it is missing
or cannot read the file."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from tests.fusion.driver import FUSION_VERSION

import dbt_kickoff
from dbt_kickoff.cli.main import main
from dbt_kickoff.environments.binary import dbt_executable_environment
from dbt_kickoff.environments.drivers import duckdb_driver_package
from dbt_kickoff.environments.venv import Venv
from dbt_kickoff.errors import DBTProcessingError, PrerequisitesException
from dbt_kickoff.records import open_record

pytestmark = pytest.mark.slow

BUILT = {
    "seed.fusion_small.customers": "success",
    "model.fusion_small.stg_customers": "success",
    "model.fusion_small.customers_per_country": "success",
}


def _destination(database: Path) -> dict[str, str]:
    return {"type": "duckdb", "path": str(database)}


def test_failing_build_gives_per_node_results_a_record_and_a_report(
    fusion_venv: Venv, fusion_duckdb_drivers: Path, isolated_driver_cache: Path, package_copy: Path,
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    venv = dbt_kickoff.get_venv("duckdb", dbt_version=FUSION_VERSION, drivers=fusion_duckdb_drivers,
                                venv_dir=fusion_venv.path.parent)
    assert venv.path == fusion_venv.path and venv.environment.drivers == fusion_duckdb_drivers
    (package_copy / "models" / "broken.sql").write_text("select * from no_such_table_anywhere\n")
    (package_copy / "models" / "after_broken.sql").write_text("select * from {{ ref('broken') }}\n")
    database, records = tmp_path / "warehouse.duckdb", tmp_path / "records"
    with dbt_kickoff.package(_destination(database), package_copy, venv=venv, dataset_name="v2_duck",
                             records=records) as runner:
        with pytest.raises(DBTProcessingError) as caught:
            runner.build()
        assert runner.dbt_version == "2.0.0-preview.196"
    statuses = {r.unique_id: r.status for r in caught.value.run_results}
    assert {uid: statuses[uid] for uid in BUILT} == BUILT
    assert statuses["model.fusion_small.broken"] == "error"
    assert statuses["model.fusion_small.after_broken"] == "skipped"
    assert {s for uid, s in statuses.items() if uid.startswith("test.")} == {"pass"}
    text = str(caught.value)
    assert "model broken [error]" in text and "no_such_table_anywhere" in text
    with duckdb.connect(str(database), read_only=True) as con:
        rows = con.execute("select country, customers from v2_duck.customers_per_country order by 1").fetchall()
    assert rows == [("FI", 1), ("UK", 1), ("US", 1)]

    record = open_record("latest", records)
    assert (record.data["call"], record.outcome) == ("build", "failed")
    assert record.data["identity"]["dbt_version"] == "2.0.0-preview.196"
    assert {"manifest.json", "run_results.json", "report.json"} <= set(record.store.files(record.name))
    recorded = {r.unique_id: r.status for step in record.report.steps for r in step.results}
    assert recorded == statuses
    html = tmp_path / "report.html"
    assert main(["report", "latest", "--records", str(records), "--output", str(html)]) == 0
    assert "broken" in html.read_text(encoding="utf-8") and "broken" in capsys.readouterr().err


def test_adbc_driver_path_of_the_environment_reaches_v2(
    fusion_venv: Venv, fusion_duckdb_drivers: Path, isolated_driver_cache: Path, package_copy: Path,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ADBC_DRIVER_PATH", str(fusion_duckdb_drivers))
    with dbt_kickoff.package(_destination(tmp_path / "w.duckdb"), package_copy, venv=fusion_venv,
                             dataset_name="v2_env", records=False) as runner:
        results = runner.build()
    statuses = {r.unique_id: r.status for r in results}
    assert {uid: statuses[uid] for uid in BUILT} == BUILT and set(statuses.values()) == {"success", "pass"}


def test_without_a_duckdb_driver_the_error_says_how_to_provide_one(
    fusion_venv: Venv, isolated_driver_cache: Path, package_copy: Path, tmp_path: Path
) -> None:
    with dbt_kickoff.package(_destination(tmp_path / "w.duckdb"), package_copy, venv=fusion_venv,
                             dataset_name="v2_nodriver", records=False) as runner:
        with pytest.raises(PrerequisitesException) as caught:
            runner.build()
    text = str(caught.value)
    assert "no DuckDB driver" in text and "drivers=<folder>" in text and "ADBC_DRIVER_PATH=<folder>" in text
    assert f"npm pack {duckdb_driver_package()}" in text


def test_a_file_written_by_a_newer_duckdb_is_explained_and_the_fix_works(
    fusion_venv: Venv, fusion_duckdb_drivers: Path, isolated_driver_cache: Path, package_copy: Path,
    tmp_path: Path,
) -> None:
    venv = dbt_kickoff.get_venv("duckdb", dbt_version=FUSION_VERSION, drivers=fusion_duckdb_drivers,
                                venv_dir=fusion_venv.path.parent)
    newest, compatible = tmp_path / "newest.duckdb", tmp_path / "compatible.duckdb"
    duckdb.connect(str(newest)).execute("create table loaded as select 1 as id").close()
    with dbt_kickoff.package(_destination(newest), package_copy, venv=venv, dataset_name="v2_new",
                             records=False) as runner:
        with pytest.raises(PrerequisitesException, match="written by a newer DuckDB") as caught:
            runner.build()
    assert "'storage_compatibility_version': 'v1.5.0'" in str(caught.value)

    config = {"storage_compatibility_version": "v1.5.0"}  # the fix the error names
    duckdb.connect(str(compatible), config=config).execute("create table loaded as select 1 as id").close()
    with dbt_kickoff.package(_destination(compatible), package_copy, venv=venv, dataset_name="v2_compat",
                             records=False) as runner:
        assert {r.status for r in runner.build()} == {"success", "pass"}


def test_a_dbt_executable_installed_another_way_takes_drivers_too(
    fusion_venv: Venv, fusion_duckdb_drivers: Path
) -> None:
    environment = dbt_executable_environment(fusion_venv.dbt_executable, drivers=fusion_duckdb_drivers)
    assert (environment.exit_codes, environment.drivers) == ("v2", fusion_duckdb_drivers)
