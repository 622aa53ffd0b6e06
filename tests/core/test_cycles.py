"""Warm repeated transforms: manifest reuse, change detection, transform only what was loaded, the loop."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import duckdb
import pytest

import dbt_kickoff
from dbt_kickoff.cycles import iter_cycles
from dbt_kickoff.loaded import LoadedTable, LoadFailed, loaded_tables, source_selectors


def _runner(shop_duckdb: Path, shop_project: Path, **kwargs: object) -> dbt_kickoff.PackageRunner:
    return dbt_kickoff.package(f"duckdb:///{shop_duckdb}", shop_project, dataset_name="live",
                               source_dataset_name="raw_data", **kwargs)  # type: ignore[arg-type]


def test_manifest_is_reused_until_files_or_vars_change(shop_duckdb: Path, shop_project: Path) -> None:
    with _runner(shop_duckdb, shop_project) as runner:
        runner.build()
        assert runner.last_report.steps[0].parsed
        runner.build()
        assert not runner.last_report.steps[0].parsed  # warm: no parse at all

        model = shop_project / "models" / "revenue_by_country.sql"
        model.write_text(model.read_text().replace("count(*) as orders", "count(*) as orders, max(o.id) as last_id"))
        runner.build(["--select", "revenue_by_country"], )
        assert runner.last_report.steps[0].parsed  # the edit is seen ...
        with duckdb.connect(str(shop_duckdb), read_only=True) as con:  # ... and built
            columns = [c[0] for c in con.execute("describe live.revenue_by_country").fetchall()]
        assert "last_id" in columns

        runner.build(["--select", "revenue_by_country"], additional_vars={"fail_test": False})
        assert runner.last_report.steps[0].parsed  # other vars: parsed again


def test_failed_cycle_does_not_poison_the_next(shop_duckdb: Path, shop_project: Path) -> None:
    with _runner(shop_duckdb, shop_project) as runner:
        runner.build()
        with pytest.raises(dbt_kickoff.DBTProcessingError):
            runner.build(additional_vars={"break_model": True})
        results = runner.build()
    assert {r.status for r in results} <= {"success", "pass"}


def test_new_source_is_picked_up(shop_duckdb: Path, shop_project: Path) -> None:
    with _runner(shop_duckdb, shop_project) as runner:
        assert {s["name"] for s in runner.sources()} == {"orders"}
        sources = shop_project / "models" / "sources.yml"
        sources.write_text(sources.read_text() + "      - name: customers\n")
        assert {s["name"] for s in runner.sources()} == {"orders", "customers"}


def test_transform_only_what_was_loaded(shop_duckdb: Path, shop_project: Path,
                                        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="dbt_kickoff")
    with _runner(shop_duckdb, shop_project) as runner:
        runner.seed()
        started = time.perf_counter()
        assert runner.transform_loaded([], ) == []
        assert time.perf_counter() - started < 5  # no dbt involved at all (loose bound: a hang would show)
        assert runner.transform_loaded(["raw_data.unrelated"], ) == []
        assert "no dbt source reads" in caplog.text

        results = runner.transform_loaded(["RAW_DATA.Orders"])
    kinds = {(r.resource_type, r.model_name) for r in results}
    assert ("model", "stg_orders") in kinds and ("model", "revenue_by_country") in kinds
    assert ("model", "orders_incremental") in kinds
    assert not any(r.resource_type == "seed" for r in results)  # the seed does not read the loaded table
    assert any(r.resource_type == "test" and "source_unique_raw_orders_id" in r.model_name for r in results)


def test_nothing_loaded_starts_no_dbt(shop_duckdb: Path, shop_project: Path) -> None:
    with _runner(shop_duckdb, shop_project, warm_start=False) as runner:
        assert runner.transform_loaded([]) == []
        assert runner.session.engine is None


def test_selectors_match_by_schema_and_identifier() -> None:
    sources = [
        {"source_name": "shop", "name": "orders", "schema": "raw", "identifier": "orders_v2"},
        {"source_name": "shop", "name": "users", "schema": "raw", "identifier": None},
        {"source_name": "other", "name": "orders", "schema": "elsewhere", "identifier": "orders"},
    ]
    tables = loaded_tables(["raw.orders_v2", "users"], default_schema="raw")
    assert tables == {LoadedTable("raw", "orders_v2"), LoadedTable("raw", "users")}
    assert source_selectors(tables, sources) == ["source:shop.orders+", "source:shop.users+"]
    with pytest.raises(dbt_kickoff.KickoffError, match=r"schema\.table"):
        loaded_tables(["no-schema"])


def test_dlt_load_info_drives_the_selection(shop_project: Path, tmp_path: Path) -> None:
    dlt = pytest.importorskip("dlt")
    warehouse = tmp_path / "dlt.duckdb"
    pipeline = dlt.pipeline("cycles", destination=dlt.destinations.duckdb(str(warehouse)),
                            dataset_name="raw_data", pipelines_dir=str(tmp_path / "pipelines"))
    rows = [{"id": i, "country": "DE", "amount": 1.5 * i, "created_at": "2026-11-24"} for i in range(1, 11)]
    info = pipeline.run(rows, table_name="orders")
    assert loaded_tables(info) == {LoadedTable("raw_data", "orders")}  # dlt's own tables left out
    with dbt_kickoff.package(pipeline, shop_project, dataset_name="live") as runner:
        runner.seed()
        results = runner.transform_loaded(info)
        assert {r.model_name for r in results if r.resource_type == "model"} == {
            "stg_orders", "revenue_by_country", "orders_incremental"}
        assert runner.transform_loaded(pipeline.run([], table_name="orders")) == []

    class BrokenLoad:
        has_failed_jobs = True
        dataset_name = "raw_data"
        load_packages: list[object] = []

    with pytest.raises(LoadFailed):
        loaded_tables(BrokenLoad())


def test_loop_runs_cycles_and_survives_a_failing_load(shop_duckdb: Path, shop_project: Path) -> None:
    calls = {"n": 0}

    def load() -> list[str]:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("source API down")
        if calls["n"] == 3:
            return []
        with duckdb.connect(str(shop_duckdb)) as con:
            con.execute("insert into raw_data.orders values (1000 + ?, 'FR', 1.0, '2026-11-24')", [calls["n"]])
        return ["raw_data.orders"]

    with _runner(shop_duckdb, shop_project) as runner:
        runner.seed()
        reports = list(iter_cycles(runner, load, every=0.05, max_cycles=4, only_loaded=True))
    assert [r.number for r in reports] == [1, 2, 3, 4]
    assert reports[1].error is not None and "source API down" in str(reports[1].error)
    assert reports[1].results == []
    assert reports[2].skipped == "nothing loaded" and reports[2].transform_seconds < 5
    assert reports[0].ok and reports[3].ok
    assert {r.model_name for r in reports[3].results if r.resource_type == "model"} >= {"stg_orders"}


def test_loop_stops_on_event_and_skips_missed_slots(shop_duckdb: Path, shop_project: Path) -> None:
    stop = threading.Event()

    def slow_load() -> list[str]:
        time.sleep(0.3)
        return []

    with _runner(shop_duckdb, shop_project) as runner:
        reports = []
        for report in iter_cycles(runner, slow_load, every=0.1, overlap="skip", stop=stop):
            reports.append(report)
            if len(reports) == 3:
                stop.set()
    assert len(reports) == 3
    assert reports[1].missed_slots >= 2 and reports[2].missed_slots >= 2


def test_worker_is_recycled_after_n_commands(shop_duckdb: Path, shop_project: Path) -> None:
    with _runner(shop_duckdb, shop_project, recycle_after_commands=2) as runner:
        runner.seed()
        first = runner.session.engine
        runner.seed()
        assert runner.session.engine is None  # recycled after its second command
        runner.seed()
        assert runner.session.engine is not None and runner.session.engine is not first
