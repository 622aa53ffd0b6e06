"""Every feature on the dbt v2 engine too (DuckDB, offline): changed-only builds (their change state kept per
engine), retry of a failed run_all, OpenLineage, and a stop that ends the query and leaves no process."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import duckdb
import psutil
import pytest
from tests.fusion.driver import FUSION_VERSION
from tests.slow_sql import slow_duckdb_model

import dbt_kickoff
from dbt_kickoff.engines import DbtEvent
from dbt_kickoff.environments.venv import Venv
from dbt_kickoff.records import open_record

pytestmark = pytest.mark.slow


def v2(fusion_venv: Venv, drivers: Path) -> Venv:
    return dbt_kickoff.get_venv("duckdb", dbt_version=FUSION_VERSION, drivers=drivers,
                                venv_dir=fusion_venv.path.parent)


def test_changed_only_on_v2_keeps_its_own_state_and_starts_no_dbt_when_nothing_changed(
    fusion_venv: Venv, fusion_duckdb_drivers: Path, isolated_driver_cache: Path, package_copy: Path, tmp_path: Path,
) -> None:
    venv = v2(fusion_venv, fusion_duckdb_drivers)
    database, records = tmp_path / "warehouse.duckdb", tmp_path / "records"

    def build() -> dbt_kickoff.CallResults:
        with dbt_kickoff.package({"type": "duckdb", "path": str(database)}, package_copy, venv=venv,
                                 dataset_name="v2_changed", records=records) as runner:
            results = runner.build(changed_only=True)
            assert runner.last_report.changed is not None
            build.last = runner.last_report.changed  # type: ignore[attr-defined]
            return results

    first = build()
    assert len(first) == 7 and build.last.full_build_reason.startswith("first run")  # type: ignore[attr-defined]
    second = build()
    assert second == [] and second.skipped == "nothing changed"
    assert not build.last.dbt_started  # type: ignore[attr-defined]
    model = package_copy / "models" / "customers_per_country.sql"
    model.write_text(model.read_text().replace("select", "select 1 as added,", 1))
    third = build()
    assert {r.model_name for r in third if r.resource_type == "model"} == {"customers_per_country"}
    assert {r.reason for r in third} == {"code changed"}
    identity = open_record("latest", records).identity
    assert identity.dbt_version == "2.0.0-preview.196"  # v1 and v2 states never mix: the version is in the key
    with duckdb.connect(str(database), read_only=True) as con:
        assert con.execute("select count(*) from v2_changed.customers_per_country where added = 1").fetchone() == (3,)


def test_a_failed_run_all_is_retried_on_v2_and_lineage_is_emitted(
    fusion_venv: Venv, fusion_duckdb_drivers: Path, isolated_driver_cache: Path, package_copy: Path, tmp_path: Path,
) -> None:
    venv = v2(fusion_venv, fusion_duckdb_drivers)
    (package_copy / "models" / "broken.sql").write_text("select * from no_such_table\n")
    events = tmp_path / "lineage.jsonl"
    lineage = {"transport": {"type": "file", "log_file_path": str(events), "append": True}}
    with dbt_kickoff.package({"type": "duckdb", "path": str(tmp_path / "w.duckdb")}, package_copy, venv=venv,
                             records=tmp_path / "records", openlineage=lineage) as runner:
        with pytest.raises(dbt_kickoff.DBTProcessingError, match="no_such_table"):
            runner.run_all()
        (package_copy / "models" / "broken.sql").write_text("select 1 as id\n")
        results = runner.retry()
        assert [s.command for s in runner.last_report.steps] == ["retry", "test"]
    assert {r.status for r in results} <= {"success", "pass"}
    assert any(r.model_name == "broken" and r.status == "success" for r in results)
    sent = [json.loads(line) for line in events.read_text().splitlines()]
    assert {e["eventType"] for e in sent} >= {"START", "COMPLETE", "FAIL"}
    outputs = {d["name"] for e in sent for d in e.get("outputs") or ()}
    assert any(name.endswith("customers_per_country") for name in outputs)


def test_cancel_on_v2_stops_the_query_and_leaves_no_process(
    fusion_venv: Venv, fusion_duckdb_drivers: Path, isolated_driver_cache: Path, package_copy: Path, tmp_path: Path,
) -> None:
    venv = v2(fusion_venv, fusion_duckdb_drivers)
    (package_copy / "models" / "slow.sql").write_text(slow_duckdb_model())
    started = threading.Event()

    def watch(event: DbtEvent) -> None:
        if event.name == "NodeStart" and event.node is not None and event.node.name == "slow":
            started.set()

    database = tmp_path / "w.duckdb"
    with dbt_kickoff.package({"type": "duckdb", "path": str(database)}, package_copy, venv=venv, records=False,
                             on_event=watch, cancel_grace=5) as runner:
        threading.Thread(target=lambda: started.wait(120) and runner.cancel("test stop"), daemon=True).start()
        began = time.monotonic()
        with pytest.raises(dbt_kickoff.DbtCancelled) as stopped:
            runner.build()
        assert stopped.value.reason == "test stop" and time.monotonic() - began < 110
    assert not [p for p in psutil.Process().children(recursive=True) if "dbt" in " ".join(p.cmdline())]
    with duckdb.connect(str(database)) as con:  # the file is free: no dbt holds it
        con.execute("select 1")


def test_row_counts_on_v2_replace_the_zero_it_reports_for_rebuilt_tables(
    fusion_venv: Venv, fusion_duckdb_drivers: Path, isolated_driver_cache: Path, package_copy: Path, tmp_path: Path,
) -> None:
    venv = v2(fusion_venv, fusion_duckdb_drivers)
    destination = {"type": "duckdb", "path": str(tmp_path / "w.duckdb")}
    with dbt_kickoff.package(destination, package_copy, venv=venv, records=False) as runner:
        plain = {r.model_name: r.rows_affected for r in runner.build() if r.resource_type == "model"}
    with dbt_kickoff.package(destination, package_copy, venv=venv, records=False, row_counts=True) as runner:
        counted = {r.model_name: r.rows_affected for r in runner.build() if r.resource_type == "model"}
    assert set(plain.values()) <= {0, None}
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        rows = {name: con.execute(f"select count(*) from main.{name}").fetchone()[0] for name in counted}
    assert counted == rows and all(count > 0 for count in counted.values())
