"""dbt's selection worked out on a manifest without dbt (``ManifestSelector``): methods, graph operators, unions
and intersections, YAML selectors, eager indirect selection of tests, and clear errors for what needs dbt.
(The same selectors are compared with ``dbt ls`` on a real package in ``test_selection_dbt.py``.)"""

from __future__ import annotations

import pytest

from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.integrations.selection import ManifestSelector
from tests.integrations.manifests import shop, uid

STG, FCT, RPT = uid("model", "stg_orders"), uid("model", "fct_orders"), uid("model", "rpt_revenue")
INT, SEED, SNAP = uid("model", "int_orders"), uid("seed", "countries"), uid("snapshot", "orders_snapshot")
T_UNIQUE, T_NOT_NULL = uid("test", "unique_stg_orders_id"), uid("test", "not_null_fct_orders_id")
T_REL, T_SOURCE = uid("test", "relationships_fct_orders_country"), uid("test", "source_not_null_raw_orders_id")
T_SINGULAR = uid("test", "no_negative_revenue")
ALL_TESTS = {T_UNIQUE, T_NOT_NULL, T_REL, T_SOURCE, T_SINGULAR}


@pytest.fixture
def graph() -> ManifestSelector:
    return ManifestSelector(shop())


def names(ids: set[str]) -> set[str]:
    return {i.split(".")[2] for i in ids}


def test_no_selection_is_everything_dbt_runs(graph: ManifestSelector) -> None:
    assert graph.select() == {STG, INT, FCT, RPT, SEED, SNAP, *ALL_TESTS}  # not the source


@pytest.mark.parametrize(("select", "expected"), [
    ("stg_orders", {STG, T_UNIQUE}),                         # a name, with its tests (eager)
    ("shop.marts", {FCT, RPT, T_NOT_NULL, T_REL, T_SINGULAR}),  # an fqn prefix: a folder
    ("shop.marts.fct_orders", {FCT, T_NOT_NULL, T_REL}),
    ("fct_*", {FCT, T_NOT_NULL, T_REL}),                     # a bare wildcard matches names
    ("shop.staging.*", {STG, INT, T_UNIQUE}),
    ("tag:finance", {FCT, RPT, T_NOT_NULL, T_REL, T_SINGULAR}),
    ("path:models/staging", {STG, INT, T_UNIQUE}),
    ("path:models/marts/fct_orders.sql", {FCT, T_NOT_NULL, T_REL}),
    ("file:rpt_revenue", {RPT, T_SINGULAR}),
    ("resource_type:seed", {SEED, T_REL}),
    ("config.materialized:table", {FCT, T_NOT_NULL, T_REL}),
    ("package:this", {STG, INT, FCT, RPT, SEED, SNAP, *ALL_TESTS}),
    ("test_name:not_null", {T_NOT_NULL, T_SOURCE}),
    ("test_type:singular", {T_SINGULAR}),
    ("source:raw+", {STG, INT, FCT, RPT, SNAP, *ALL_TESTS}),
    ("stg_orders+", {STG, INT, FCT, RPT, SNAP, T_UNIQUE, T_NOT_NULL, T_REL, T_SINGULAR}),
    ("stg_orders+1", {STG, INT, SNAP, T_UNIQUE}),
    ("+fct_orders", {STG, INT, FCT, SEED, T_UNIQUE, T_NOT_NULL, T_REL, T_SOURCE}),
    ("1+fct_orders", {INT, SEED, FCT, T_NOT_NULL, T_REL}),
    ("@int_orders", {STG, INT, FCT, RPT, SEED, T_UNIQUE, T_NOT_NULL, T_REL, T_SINGULAR, T_SOURCE}),
    ("tag:daily,config.materialized:table", {FCT, T_NOT_NULL, T_REL}),  # an intersection
    ("tag:reference tag:finance", {SEED, FCT, RPT, T_NOT_NULL, T_REL, T_SINGULAR}),  # a union
])
def test_methods_and_operators(graph: ManifestSelector, select: str, expected: set[str]) -> None:
    assert graph.select(select) == expected


def test_exclude_and_a_list_of_selectors(graph: ManifestSelector) -> None:
    # each criterion takes its tests along, the excluded one too (as dbt does)
    assert graph.select(["tag:daily", "countries"], exclude="fct_orders") == {STG, SEED, T_UNIQUE}
    assert graph.select(exclude="resource_type:test") == {STG, INT, FCT, RPT, SEED, SNAP}
    assert graph.select("tag:finance", indirect_tests=False) == {FCT, RPT}


def test_yaml_selectors(graph: ManifestSelector) -> None:
    assert graph.select(selector="finance") == {FCT, T_NOT_NULL, T_REL}
    assert names(graph.select(selector="staging_up")) == names({STG, INT, FCT, RPT, SNAP, *ALL_TESTS} - {T_SOURCE})
    assert graph.select("tag:reference", selector="finance") == {T_REL}  # a selection and a selector: both


@pytest.mark.parametrize(("select", "message"), [
    ("state:modified+", "needs dbt's state or results"),
    ("result:error", "needs dbt's state or results"),
    ("colour:red", "unknown dbt selector method 'colour'"),
    ("config:table", "needs a config key"),
])
def test_what_needs_dbt_or_is_wrong_is_refused(graph: ManifestSelector, select: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        graph.select(select)


def test_an_unknown_yaml_selector_names_the_known_ones(graph: ManifestSelector) -> None:
    with pytest.raises(ConfigurationError, match=r"no YAML selector 'nightly'.*finance, staging_up"):
        graph.select(selector="nightly")
