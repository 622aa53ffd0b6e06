"""``run_all(changed_only=True)``: seed, run and test only what changed (steps with nothing to do are left out)."""

from __future__ import annotations

from tests.changed_core.conftest import DltShop, models_of
from tests.core.conftest import ORDERS


def test_run_all_changed_only_runs_only_the_steps_with_work(dlt_shop: DltShop) -> None:
    with dlt_shop.runner() as runner:
        runner.run_all(changed_only=True)
        assert [s.command for s in runner.last_report.steps] == ["seed", "run", "test"]
        assert runner.run_all(changed_only=True) == []

        dlt_shop.load(ORDERS[40:])
        results = runner.run_all(changed_only=True)
        assert [s.command for s in runner.last_report.steps] == ["run", "test"]  # the seed reads no source
    assert models_of(results) == {name: "new dlt load in raw_data.orders"
                                  for name in ("stg_orders", "revenue_by_country", "orders_incremental")}
    assert all(r.reason for r in results)
    assert dlt_shop.differences_from_full_build() == {}
