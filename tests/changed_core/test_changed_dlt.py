"""Changed-only builds of a dlt-fed package on DuckDB: first run, nothing changed (no dbt), a new dlt load,
an unreadable record, and the watch loop without load information."""

from __future__ import annotations

from pathlib import Path

import dbt_kickoff
from dbt_kickoff.cycles import iter_cycles
from dbt_kickoff.records import open_record
from tests.changed_core.conftest import DltShop, models_of
from tests.core.conftest import ORDERS

FIRST_RUN = "no usable previous run: first run (no record of this package and target)"


def test_first_run_then_nothing_then_a_dlt_load(dlt_shop: DltShop) -> None:
    with dlt_shop.runner() as runner:
        results = runner.build(changed_only=True)
        changes = runner.last_report.changed
        assert changes is not None and changes.full_build_reason is not None
        assert changes.full_build_reason.startswith("first run")
        assert {r.reason for r in results} == {FIRST_RUN}
        assert set(models_of(results)) == {"countries", "stg_orders", "revenue_by_country", "orders_incremental"}
        assert changes.snapshot["dlt"]["raw_data"]["tables"]["orders"][1] == 40  # what the next run compares to

    with dlt_shop.runner(warm_start=False) as runner:  # a new task process: nothing changed
        assert runner.build(changed_only=True) == []
        assert runner.session.engine is None  # dbt was not even started
        changes = runner.last_report.changed
        assert changes is not None and changes.full_build_reason is None and changes.reasons == {}
        assert changes.unchanged_count == len(changes.unchanged) >= 9 and not changes.dbt_started
        assert "model.shop.stg_orders" in changes.unchanged
        assert changes.to_dict()["unchanged_count"] == changes.unchanged_count

        dlt_shop.load(ORDERS[40:])
        results = runner.build(changed_only=True)
    built = models_of(results)
    assert built == {name: "new dlt load in raw_data.orders"
                     for name in ("stg_orders", "revenue_by_country", "orders_incremental")}
    assert any(r.resource_type == "test" and r.reason == "new dlt load in raw_data.orders" for r in results)
    record = open_record("latest", dlt_shop.records)
    assert record.report.changed is not None and "seed.shop.countries" in record.report.changed.unchanged
    assert {r.reason for r in record.report.results} == {"new dlt load in raw_data.orders"}  # the record keeps it
    assert dlt_shop.differences_from_full_build() == {}


def test_after_full_builds_then_unreadable_record(dlt_shop: DltShop) -> None:
    with dlt_shop.runner() as runner:
        runner.build()  # no changed-only call of this package yet: the full build measures no sources (cheaper)
        assert set(open_record("latest", dlt_shop.records).data["sources_before"]) == {"inputs"}
        runner.build(changed_only=True)  # compares with it: dlt's loads unknown then, so what reads them is built
        runner.build()  # a full build is a good run to compare with: it kept dlt's newest load per schema
        assert open_record("latest", dlt_shop.records).data["sources_before"]["dlt"]["raw_data"]["last_load"]
        assert runner.build(changed_only=True) == []
        dlt_shop.load(ORDERS[40:45])
        runner.run_all()  # so did this one, before dbt started
        assert runner.build(changed_only=True) == []
        dlt_shop.load(ORDERS[45:])
        results = runner.build(changed_only=True)
        assert models_of(results) == {name: "new dlt load in raw_data.orders"
                                      for name in ("stg_orders", "revenue_by_country", "orders_incremental")}
        assert dlt_shop.differences_from_full_build() == {}
        runner.build(["--select", "stg_orders"])  # a selected build records no loads: it is no good run
        assert open_record("latest", dlt_shop.records).data["sources_before"] is None
        latest = open_record("latest", dlt_shop.records)
        (Path(latest.uri) / "report.json").write_text("{not json")
        results = runner.build(changed_only=True)
    changes = runner.last_report.changed
    assert changes is not None and changes.full_build_reason == f"the record {latest.name} is unreadable"
    assert {r.reason for r in results} == {f"no usable previous run: the record {latest.name} is unreadable"}
    assert set(models_of(results)) == {"countries", "stg_orders", "revenue_by_country", "orders_incremental"}


def test_watch_loop_without_load_builds_only_what_changed(dlt_shop: DltShop) -> None:
    with dlt_shop.runner() as runner:
        cycles = list(iter_cycles(runner, every=0.05, max_cycles=2))
    assert cycles[0].ok and {r.reason for r in cycles[0].results} == {FIRST_RUN}
    assert cycles[1].ok and cycles[1].results == [] and cycles[1].skipped == "nothing changed"


def test_always_build_runs_its_models_every_time(dlt_shop: DltShop) -> None:
    with dlt_shop.runner(always_build="stg_orders") as runner:
        runner.build(changed_only=True)
        results = runner.build(changed_only=True)
        assert models_of(results) == {"stg_orders": "always_build"}
        results = runner.build(changed_only=True, always_build="tag:nothing_has_this_tag revenue_by_country")
    assert models_of(results) == {"revenue_by_country": "always_build"}
    assert dbt_kickoff.NodeResult.from_dict(results[0].to_dict()).reason == "always_build"
