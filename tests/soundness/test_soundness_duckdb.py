"""Issue 19 on DuckDB: after each changed-only call (a new process, as a scheduled task), every model relation
equals what a plain full ``dbt build`` of a copy makes from the same warehouse (rows with ``EXCEPT ALL`` both
ways, kinds, none missing or extra); retry finishes the right dataset; records hold no secret; a decision that
fails says dbt's own why."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from bench.branch_loads import Warehouse

from tests.slow_sql import slow_duckdb_model
from tests.soundness.bed import Bed, copy_duckdb_file, differences
from tests.soundness.conftest import edit
from tests.soundness.package import (
    BIG_SEED_BYTES,
    FIRST_LOAD,
    ORDERS,
    REGION_VARIABLE,
    SCHEMA,
    TABLE_MODELS,
    insert_orders,
    order_rows,
    products_csv,
)
from tests.soundness.tables import duckdb_differences

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

def test_the_comparison_sees_stale_missing_extra_and_retyped_relations(bed: Bed, tmp_path: Path) -> None:
    """The check itself can fail: a changed row, a missing relation, an extra one, a view for a table."""
    assert bed.warehouse.duckdb_path is not None
    changed = tmp_path / "changed.duckdb"
    copy_duckdb_file(bed.warehouse.duckdb_path, changed)
    with duckdb.connect(str(changed)) as con:
        con.execute(f"update {SCHEMA}.kpis set orders = orders + 1")
        con.execute(f"drop table {SCHEMA}.daily_orders")
        con.execute(f"create table {SCHEMA}.leftover as select 1 as x")
        con.execute(f"drop table {SCHEMA}.orders_labeled")
        con.execute(f"create view {SCHEMA}.orders_labeled as select 1 as order_id, 'kept' as outcome")
        con.execute("create table raw.loaded_later as select 1 as x")  # a loader's schema: not compared
    assert differences(Warehouse(duckdb_path=changed), bed.warehouse) == {
        f"{SCHEMA}.daily_orders": "missing in the build under test",
        f"{SCHEMA}.kpis": "1 rows only here, 1 only in the full build",
        f"{SCHEMA}.leftover": "only in the build under test",
        f"{SCHEMA}.orders_labeled": "a view where a full build makes a table",
    }
    assert duckdb_differences(bed.warehouse.duckdb_path, changed, ()) != {}


def test_a_model_change_rebuilds_it_and_its_downstream(bed: Bed) -> None:
    """The control case dbt-kickoff handles today: the bed sees a correct changed-only build as correct."""
    edit(bed.project / "models/marts/customer_lifetime.sql", "count(*) as orders", "count(*) + 0 as orders")
    checked = bed.changed_only()
    assert checked.outcome.built() == dict.fromkeys(
        {"customer_lifetime", "high_value_customers", "top_customers", "kpis"}, "code changed"), checked
    assert checked.differences == {}, checked


def test_nothing_changed_builds_nothing(bed: Bed) -> None:
    checked = bed.changed_only()
    assert checked.outcome.built() == {} and checked.differences == {}, checked
    assert "nothing changed" in checked.outcome.decision


def test_another_database_with_the_same_schema_gets_every_table(bed: Bed) -> None:
    """Scenario 1: built into file A; a changed-only call into a fresh file B (same schema, same records)."""
    assert bed.warehouse.duckdb_path is not None
    fresh = bed.root / "warehouse_b.duckdb"
    copy_duckdb_file(bed.warehouse.duckdb_path, fresh)
    with duckdb.connect(str(fresh)) as con:  # the same loaded sources, no model built yet
        con.execute(f"drop schema {SCHEMA} cascade")
    other = Bed(bed.root, Warehouse(duckdb_path=fresh))
    checked = other.changed_only()
    assert checked.differences == {}, checked
    assert set(checked.outcome.built()) == TABLE_MODELS, checked


@pytest.mark.parametrize("outside", ["macro", "model"])
def test_a_file_outside_the_project_folder_changes(bed: Bed, outside: str) -> None:
    """Scenario 2: a macro of ``macro-paths: [.., "../shared_macros"]`` is edited (monorepos): its users and
    their downstream are rebuilt. The same for a model of ``model-paths: [.., "../shared_models"]``."""
    if outside == "macro":
        edit(bed.root / "shared_macros/money.sql", "/ 100, 2)", "/ 100, 1)")
    else:
        edit(bed.root / "shared_models/orders_per_customer.sql", "count(*)", "count(*) * 10")
    checked = bed.changed_only()
    assert checked.differences == {}, checked


def test_a_var_of_dbt_project_yml_changes(bed: Bed) -> None:
    """Scenario 3: ``tax_rate`` in dbt_project.yml: orders_taxed and kpis (its users) must be rebuilt."""
    edit(bed.project / "dbt_project.yml", "tax_rate: 0.2", "tax_rate: 0.25")
    checked = bed.changed_only()
    assert checked.differences == {}, checked
    assert {"orders_taxed", "kpis"} <= set(checked.outcome.built()), checked


def test_a_seed_over_one_mib_changes_content_not_size(bed: Bed) -> None:
    """Scenario 4: ``products.csv`` (> 1 MiB) gets other prices, byte count unchanged."""
    seed = bed.project / "seeds/products.csv"
    size = seed.stat().st_size
    assert size > 1024 * 1024 and size >= BIG_SEED_BYTES
    seed.write_text(products_csv(BIG_SEED_BYTES, price_offset=5), encoding="utf-8")
    assert seed.stat().st_size == size
    checked = bed.changed_only()
    assert checked.differences == {}, checked
    assert checked.outcome.built("seed") and "stg_products" in checked.outcome.built(), checked


def test_a_killed_run_is_seen_by_the_next_call(bed: Bed) -> None:
    """Scenario 5: a changed-only build of a model change (orders, and a slow model after it) is killed with
    SIGKILL while the slow model runs; the change is rolled back; the next call must rebuild what the killed
    call may have touched."""
    orders, slow = bed.project / "models/marts/orders.sql", bed.project / "models/marts/orders_by_status.sql"
    originals = {path: path.read_text(encoding="utf-8") for path in (orders, slow)}
    edit(orders, "o.amount,", "o.amount * 2 as amount,")
    slow.write_text(slow_duckdb_model(depends_on="orders"), encoding="utf-8")
    bed.killed_call("build", {"changed_only": True}, when_started="orders_by_status", after_seconds=5)
    with duckdb.connect(str(bed.warehouse.duckdb_path), read_only=True) as con:
        largest = con.execute(f"select max(amount) from {SCHEMA}.orders").fetchone()
    assert largest is not None and largest[0] > 101, "the killed call did not build orders with its change"
    for path, text in originals.items():
        path.write_text(text, encoding="utf-8")
    checked = bed.changed_only()
    assert checked.differences == {}, checked


def test_an_env_var_value_changes(bed: Bed) -> None:
    """Scenario 6: ``env_var('SOUND_REGION')`` was unset (default 'eu') at the first build, now 'us'."""
    bed.env[REGION_VARIABLE] = "us"
    checked = bed.changed_only()
    assert checked.differences == {}, checked
    reason = checked.outcome.built().get("region_label")
    assert reason, checked


def test_rows_arrive_with_an_older_loaded_at(bed: Bed) -> None:
    """Scenario 7: ten late orders, stamped before the newest row already there."""
    insert_orders(bed.warehouse, order_rows(range(ORDERS + 1, ORDERS + 11), loaded_at=FIRST_LOAD +
                                            timedelta(minutes=30)))
    checked = bed.changed_only()
    assert checked.differences == {}, checked
    assert {"orders", "kpis", "orders_snapshot"} <= set(checked.outcome.built()) | set(
        checked.outcome.built("snapshot")), checked


GATE_SQL = "select count(*) as rows_seen from raw.gate_{{ target.schema }}\n"
GATE_SUMMARY_SQL = "select rows_seen + 1 as n from {{ ref('gate') }}\n"
GATES = {"cmd_params": ["--select", "gate+"]}
"""The tenants' builds select the two gate models (what retry is about), so each takes seconds."""


def _tenants(bed: Bed) -> None:
    """A model that fails in tenant_a until its input table exists (tenant_b has it)."""
    (bed.project / "models/marts/gate.sql").write_text(GATE_SQL, encoding="utf-8")
    (bed.project / "models/marts/gate_summary.sql").write_text(GATE_SUMMARY_SQL, encoding="utf-8")
    with duckdb.connect(str(bed.warehouse.duckdb_path)) as con:
        con.execute("create table raw.gate_tenant_b as select 1 as x")


def _fix_tenant_a(bed: Bed) -> None:
    with duckdb.connect(str(bed.warehouse.duckdb_path)) as con:
        con.execute("create table raw.gate_tenant_a as select 1 as x union all select 2")


def test_retry_of_one_dataset_after_the_other_succeeded(bed: Bed) -> None:
    """Scenario 8a: tenant A fails, tenant B succeeds, A is fixed: A's retry finishes A's failures in A."""
    _tenants(bed)
    failed = bed.call("build", GATES, dataset="tenant_a")
    assert failed.error is not None and "gate" in failed.error["message"], failed
    assert bed.call("build", GATES, dataset="tenant_b").error is None
    _fix_tenant_a(bed)
    reference = bed.copy_warehouse()
    retried = bed.call("retry", dataset="tenant_a")
    assert retried.error is None, retried
    assert set(retried.built()) == {"gate", "gate_summary"}, retried
    bed.full_build(reference, GATES["cmd_params"], schema="tenant_a")
    assert differences(bed.warehouse, reference) == {}


def test_retry_of_a_dataset_that_succeeded_runs_nothing(bed: Bed) -> None:
    """Scenario 8b: tenant B succeeds, then tenant A fails: B's retry has nothing to do (and must not run A's
    failures in B's dataset)."""
    _tenants(bed)
    assert bed.call("build", GATES, dataset="tenant_b").error is None
    failed = bed.call("build", GATES, dataset="tenant_a")
    assert failed.error is not None, failed
    retried = bed.call("retry", dataset="tenant_b")
    assert retried.error is None and retried.results == [], retried


SECRET = "Pw-5f81c0de-in-a-dsn"


@pytest.mark.parametrize("where", ["attach", "settings"])
def test_no_secret_in_any_record_file(bed: Bed, where: str) -> None:
    """Scenario 9: a build with a dbt-duckdb destination carrying a password in a DSN-shaped ``attach`` path
    (a PostgreSQL database; without DuckDB's postgres extension, as here, the build fails and its record stays),
    or in the proxy URL of ``settings.http_proxy`` (the build succeeds): no file of the records folder holds it."""
    extra: dict[str, dict[str, Any]] = {
        "attach": {"attach": [{"path": f"host=127.0.0.1 port=1 dbname=crm user=reader password={SECRET}",
                               "type": "postgres", "alias": "crm_db"}],
                   "settings": {"autoinstall_known_extensions": False}},
        "settings": {"settings": {"http_proxy": f"http://proxy-user:{SECRET}@proxy.invalid:3128"}},
    }[where]
    outcome = bed.call("build", {"cmd_params": ["--select", "countries"]},
                       destination={**bed.destination(), **extra})
    assert (outcome.error is not None) == (where == "attach"), outcome
    found = subprocess.run(["grep", "-rl", "--", SECRET, str(bed.records)], capture_output=True, text=True)
    assert found.returncode == 1, f"the secret is in {found.stdout.split()}"


def test_a_parse_error_while_deciding_says_why(bed: Bed) -> None:
    """Scenario 10: a model is deleted while another still refers to it."""
    (bed.project / "models/marts/customer_lifetime.sql").unlink()
    before = bed.copy_warehouse()
    outcome = bed.call("build", {"changed_only": True})
    assert outcome.error is not None, outcome
    assert "customer_lifetime" in outcome.error["message"] and "not found" in outcome.error["message"], outcome
    assert "nothing changed" not in outcome.decision, outcome
    assert differences(bed.warehouse, before) == {}  # a full build fails as well, and leaves every table
