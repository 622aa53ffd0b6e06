"""Changed-only builds after code changes (model SQL, macro, seed, vars) and after a failure is fixed; the
tables equal those of a full build."""

from __future__ import annotations

import pytest

from dbt_kickoff.errors import DBTProcessingError
from tests.changed_core.conftest import DltShop, edit, models_of
from tests.records.conftest import BROKEN_STG_ORDERS

CODE = "code changed"


def test_model_macro_seed_and_vars_changes(dlt_shop: DltShop) -> None:
    project = dlt_shop.project
    with dlt_shop.runner() as runner:
        runner.build(changed_only=True)

        edit(project / "models" / "revenue_by_country.sql", "count(*) as orders", "count(*) as orders, 1 as v")
        results = runner.build(changed_only=True)
        assert models_of(results) == {"revenue_by_country": CODE}
        assert {r.model_name for r in results if r.resource_type == "test"} == {
            "no_negative_revenue", "not_null_revenue_by_country_country", "unique_revenue_by_country_country"}
        changes = runner.last_report.changed
        assert changes is not None and changes.selectors == ["state:modified+"]
        assert "model.shop.stg_orders" in changes.unchanged and changes.reasons[CODE] == len(results)

        edit(project / "macros" / "money.sql", "numeric), 2)", "numeric), 1)")
        assert models_of(runner.build(changed_only=True)) == {"revenue_by_country": CODE}  # the macro's user

        (project / "seeds" / "countries.csv").write_text(
            (project / "seeds" / "countries.csv").read_text() + "XX,Nowhere\n")
        assert models_of(runner.build(changed_only=True)) == {"countries": CODE, "revenue_by_country": CODE}

        results = runner.build(changed_only=True, additional_vars={"extra_column": False})
        changes = runner.last_report.changed
        assert changes is not None and changes.full_build_reason is not None
        assert changes.full_build_reason.startswith("vars changed since the run")
        assert set(models_of(results)) == {"countries", "stg_orders", "revenue_by_country", "orders_incremental"}
    assert dlt_shop.differences_from_full_build() == {}


def test_failed_model_fixed_rebuilds_it_and_what_was_skipped(dlt_shop: DltShop) -> None:
    stg_orders = dlt_shop.project / "models" / "stg_orders.sql"
    good_sql = stg_orders.read_text()
    with dlt_shop.runner() as runner:
        runner.build(changed_only=True)
        stg_orders.write_text(BROKEN_STG_ORDERS)
        with pytest.raises(DBTProcessingError) as failed:
            runner.build(changed_only=True)
        statuses = {r.model_name: (r.status, r.reason) for r in failed.value.run_results
                    if r.resource_type == "model"}
        assert statuses == {"stg_orders": ("error", CODE), "revenue_by_country": ("skipped", CODE),
                            "orders_incremental": ("skipped", CODE)}

        stg_orders.write_text(good_sql)  # fixed: back to the code of the last good run
        results = runner.build(changed_only=True)
    assert models_of(results) == {"stg_orders": "failed last time", "revenue_by_country": "skipped last time",
                                  "orders_incremental": "skipped last time"}
    assert {r.status for r in results} <= {"success", "pass"}
    assert dlt_shop.differences_from_full_build() == {}
