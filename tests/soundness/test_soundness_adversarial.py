"""Issue 19, beyond its list: other ways a node's result changes without its SQL changing. For each, a full
``dbt build`` would change the warehouse, so the changed-only build must too (DuckDB; every call in a new
process; the warehouse compared with a full build of a copy)."""

from __future__ import annotations

import json
import os

import duckdb
import pytest
from bench.branch_loads import Warehouse

from tests.soundness.bed import Bed, copy_duckdb_file
from tests.soundness.conftest import edit
from tests.soundness.package import PROJECT, SCHEMA, TABLE_MODELS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


def test_an_edit_that_keeps_size_and_modification_time(bed: Bed) -> None:
    """A model's SQL changes, same byte count, its modification time put back (as copies that keep times do)."""
    model = bed.project / "models/marts/orders_by_status.sql"
    times = model.stat()
    edit(model, "sum(amount) as amount", "max(amount) as amount")
    assert model.stat().st_size == times.st_size
    os.utime(model, ns=(times.st_atime_ns, times.st_mtime_ns))
    checked = bed.changed_only()
    assert checked.differences == {}, checked


LOCAL_PACKAGE = {
    "dbt_project.yml": "name: shared_pkg\nversion: '1.0'\nconfig-version: 2\nmacro-paths: [macros]\n",
    "macros/discount.sql": "{% macro discount(amount) %}round({{ amount }} * 0.9, 2){% endmacro %}\n",
}


def test_a_local_package_outside_the_project_is_edited(bed: Bed) -> None:
    """packages.yml installs ``../shared_pkg`` (``dbt deps`` links it into dbt_packages); a model uses its
    macro. The macro changes: that model must be rebuilt."""
    for relative, text in LOCAL_PACKAGE.items():
        (bed.root / "shared_pkg" / relative).parent.mkdir(parents=True, exist_ok=True)
        (bed.root / "shared_pkg" / relative).write_text(text, encoding="utf-8")
    (bed.project / "packages.yml").write_text("packages:\n  - local: ../shared_pkg\n", encoding="utf-8")
    (bed.project / "models/marts/discounted.sql").write_text(
        "select order_id, {{ shared_pkg.discount('amount') }} as discounted from {{ ref('orders') }}\n",
        encoding="utf-8")
    assert bed.call("deps").error is None
    added = bed.changed_only()
    assert added.differences == {} and set(added.outcome.built()) == {"discounted"}, added

    edit(bed.root / "shared_pkg/macros/discount.sql", "* 0.9", "* 0.5")
    checked = bed.changed_only()
    assert checked.differences == {}, checked


def test_an_on_run_start_hook_is_added(bed: Bed) -> None:
    """A hook that (re)creates a table of run settings in the target schema: a full build runs it."""
    edit(bed.project / "dbt_project.yml", "vars:", "on-run-start:\n  - \"create or replace table "
         "{{ target.schema }}.run_settings as select 'v2' as version\"\nvars:")
    checked = bed.changed_only()
    assert checked.differences == {}, checked


def test_a_generate_schema_name_macro_moves_every_model(bed: Bed) -> None:
    """A custom ``generate_schema_name`` routes every node into ``<schema>_v2``: a full build builds every
    relation there."""
    (bed.project / "macros/generate_schema_name.sql").write_text(
        "{% macro generate_schema_name(custom_schema_name, node) -%}{{ target.schema }}_v2{%- endmacro %}\n",
        encoding="utf-8")
    checked = bed.changed_only()
    assert checked.differences == {}, checked
    assert set(checked.outcome.built()) == TABLE_MODELS, checked


def test_a_source_moves_to_another_schema(bed: Bed) -> None:
    """``crm.customers`` now reads schema crm_v2 (other names, not loaded by dlt): what reads it is rebuilt."""
    assert bed.warehouse.duckdb_path is not None
    with duckdb.connect(str(bed.warehouse.duckdb_path)) as con:
        con.execute("create schema crm_v2")
        con.execute("create table crm_v2.customers as select id, upper(name) as name, country_code "
                    "from crm.customers")
    edit(bed.project / "models/staging/_sources.yml", "schema: crm\n", "schema: crm_v2\n")
    checked = bed.changed_only()
    assert checked.differences == {}, checked
    assert {"stg_customers", "customers", "region_label"} <= set(checked.outcome.built()), checked


def test_a_folder_changes_materialization(bed: Bed) -> None:
    """dbt_project.yml turns the staging views into tables: they are rebuilt as tables."""
    edit(bed.project / "dbt_project.yml", "+materialized: view", "+materialized: table")
    checked = bed.changed_only()
    assert checked.differences == {}, checked
    assert {"stg_orders", "stg_customers", "stg_products"} <= set(checked.outcome.built()), checked


def test_full_refresh_with_changed_only(bed: Bed) -> None:
    """An incremental model's code changes (applied incrementally: the rows it holds keep the old logic, as a
    full build leaves them); then ``build(changed_only=True, full_refresh=True)`` must end as
    ``dbt build --full-refresh`` does (or refuse the combination with a clear error)."""
    edit(bed.project / "models/marts/orders_incremental.sql", "customer_id, amount,", "customer_id, amount * 2 "
         "as amount,")
    incremental = bed.changed_only()
    assert incremental.differences == {} and "orders_incremental" in incremental.outcome.built(), incremental

    refreshed = bed.changed_only(full_refresh=True, reference_args=["--full-refresh"])
    if refreshed.outcome.error is not None:
        assert refreshed.outcome.error["type"] == "ConfigurationError", refreshed
    else:
        assert refreshed.differences == {}, refreshed


def test_profiles_yml_points_the_target_at_another_database(bed: Bed) -> None:
    """The package's own profiles.yml (destination ``None``): its target's DuckDB path changes to a fresh
    file holding the same sources."""
    assert bed.warehouse.duckdb_path is not None
    profiles = bed.root / "profiles"
    profiles.mkdir()

    def point_at(path: str) -> None:
        output = {"type": "duckdb", "path": path, "schema": SCHEMA, "threads": 4}
        (profiles / "profiles.yml").write_text(json.dumps({PROJECT: {"target": "dev", "outputs": {"dev": output}}}),
                                               encoding="utf-8")

    point_at(str(bed.warehouse.duckdb_path))
    first = bed.call("build", {"changed_only": True}, own_profiles=True, profiles_dir=str(profiles))
    assert first.error is None and set(first.built()) == TABLE_MODELS, first

    fresh = bed.root / "warehouse_b.duckdb"
    copy_duckdb_file(bed.warehouse.duckdb_path, fresh)
    with duckdb.connect(str(fresh)) as con:
        con.execute(f"drop schema {SCHEMA} cascade")
    point_at(str(fresh))
    other = Bed(bed.root, Warehouse(duckdb_path=fresh))
    reference = other.copy_warehouse()
    switched = other.call("build", {"changed_only": True}, own_profiles=True, profiles_dir=str(profiles))
    assert other.differences_from_full_build(reference) == {}, switched
