"""What a task group renders, worked out from a manifest alone (``plan_render``): one task per model, seed and
snapshot, ephemeral models skipped with their dependencies passed through, tests per ``test_behavior``, tests of
several parents on their own, selection, and task ids that never clash."""

from __future__ import annotations

import pytest

from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.integrations.airflow.plan import PRODUCER_TASK_ID, PlannedTask, plan_render
from tests.integrations.manifests import manifest, node, shop, uid


def by_id(tasks: tuple[PlannedTask, ...]) -> dict[str, PlannedTask]:
    return {task.task_id: task for task in tasks}


def test_after_each_renders_nodes_then_their_tests_with_dbt_dependencies() -> None:
    plan = plan_render(shop())
    tasks = by_id(plan.tasks)
    assert set(tasks) == {"countries", "stg_orders", "stg_orders_test", "fct_orders", "fct_orders_test",
                          "rpt_revenue", "rpt_revenue_test", "orders_snapshot",
                          "relationships_fct_orders_country", "source_not_null_raw_orders_id"}
    assert "int_orders" not in tasks  # ephemeral: no task
    # the ephemeral model passes its parent on: fct_orders waits for stg_orders' tests and the seed
    assert set(tasks["fct_orders"].upstream) == {"stg_orders_test", "countries"}
    assert tasks["fct_orders_test"].upstream == ("fct_orders",)
    assert tasks["fct_orders_test"].unique_ids == (uid("test", "not_null_fct_orders_id"),)
    assert tasks["rpt_revenue"].upstream == ("fct_orders_test",)  # what reads a node waits for its tests
    assert tasks["rpt_revenue_test"].unique_ids == (uid("test", "no_negative_revenue"),)  # a singular test
    # a test of two parents waits for both nodes, and nothing waits for it
    assert set(tasks["relationships_fct_orders_country"].upstream) == {"fct_orders", "countries"}
    assert tasks["source_not_null_raw_orders_id"].upstream == ()  # only a source above it: a root
    assert tasks["countries"].upstream == () and tasks["stg_orders"].upstream == ()
    assert tasks["fct_orders"].kind == "node" and tasks["fct_orders"].relation == ("warehouse", "analytics",
                                                                                    "fct_orders")
    assert uid("model", "int_orders") not in plan.node_ids
    assert len(plan.node_ids) == 5 + 5  # five built nodes and five tests
    order = [task.task_id for task in plan.tasks]
    for task in plan.tasks:  # every task comes after what it waits for
        assert all(order.index(up) < order.index(task.task_id) for up in task.upstream)


def test_build_puts_a_nodes_tests_in_its_task_and_none_renders_no_test() -> None:
    build = by_id(plan_render(shop(), test_behavior="build").tasks)
    assert "fct_orders_test" not in build
    assert build["fct_orders"].unique_ids == (uid("model", "fct_orders"), uid("test", "not_null_fct_orders_id"))
    assert build["rpt_revenue"].upstream == ("fct_orders",)
    assert "relationships_fct_orders_country" in build  # two parents: still a task of its own

    none = plan_render(shop(), test_behavior="none")
    assert {task.kind for task in none.tasks} == {"node"}
    assert not any(i.startswith("test.") for i in none.node_ids)


def test_selection_renders_the_selected_nodes_only() -> None:
    plan = plan_render(shop(), select="tag:finance", exclude="rpt_revenue")
    tasks = by_id(plan.tasks)
    assert set(tasks) == {"fct_orders", "fct_orders_test"}
    assert tasks["fct_orders"].upstream == ()  # its parents are not rendered: a root
    # the relationships test has one rendered parent left: it goes with that node's tests
    assert set(tasks["fct_orders_test"].unique_ids) == {uid("test", "not_null_fct_orders_id"),
                                                        uid("test", "relationships_fct_orders_country")}

    yaml = plan_render(shop(), selector="finance")  # the same selection, as a YAML selector
    assert {task.task_id: task.unique_ids for task in yaml.tasks} == {t.task_id: t.unique_ids for t in plan.tasks}


def test_selectors_pick_exactly_the_task_nodes() -> None:
    plan = plan_render(shop())
    assert by_id(plan.tasks)["fct_orders"].selectors == ("fqn:shop.marts.fct_orders,fqn:fct_orders,"
                                                         "resource_type:model",)


def test_task_ids_never_clash() -> None:
    model = node("model", "orders")
    other = node("model", "orders", package="vendor", parents=[model["unique_id"]])
    producer_named = node("model", PRODUCER_TASK_ID)
    tests_named = node("model", "orders_test")
    test = node("test", "unique_orders_id", parents=[model["unique_id"]], attached=model["unique_id"])
    plan = plan_render(manifest([model, other, producer_named, tests_named, test]))
    ids = [task.task_id for task in plan.tasks]
    assert len(ids) == len(set(ids)) == 5 and PRODUCER_TASK_ID not in ids


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"test_behavior": "after_all"}, "test_behavior must be one of"),
    ({"select": "state:modified"}, "needs dbt's state"),
])
def test_bad_options_are_refused(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        plan_render(shop(), **kwargs)


def test_something_that_is_not_a_manifest_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="not a dbt manifest"):
        plan_render({"nodes": {}})
