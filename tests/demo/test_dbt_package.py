"""The bundled dbt package builds on the demo data and its tests pass: plain dbt (in a subprocess) on a real
DuckDB file, incremental loads, the out-of-sync incremental model through the runner, and PostgreSQL."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

import dbt_kickoff
from dbt_kickoff.demo import DBT_PACKAGE_DIR
from dbt_kickoff.demo.data import EUR_RATES, generate_sample_data, load_sample_data, sample_resources
from tests.postgres_server import PostgresServer

pytestmark = pytest.mark.slow

DBT = Path(sys.executable).parent / "dbt"
PROJECT = "dbt_kickoff_demo"
WARN_TEST = "test.dbt_kickoff_demo.source_relationships_shop_events_product_id__product_id__source_shop_products_"
MODELS = {
    "stg_customers",
    "stg_products",
    "stg_sessions",
    "stg_events",
    "stg_orders",
    "stg_order_items",
    "int_orders_enriched",
    "fct_web_events",
    "daily_revenue",
    "customer_lifetime_value",
    "conversion_funnel",
    "product_performance",
}


@pytest.fixture(scope="module")
def loaded_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DuckDB file holding the first load (copied by each test)."""
    folder = tmp_path_factory.mktemp("demo-load")
    database = folder / "pristine.duckdb"
    load_sample_data(database, "raw_shop", pipelines_dir=folder / "dlt")
    return database


@pytest.fixture
def workspace(tmp_path: Path, loaded_db: Path) -> tuple[Path, Path]:
    """(a copy of the package, a copy of the loaded database) with a profiles.yml for plain dbt."""
    project = shutil.copytree(DBT_PACKAGE_DIR, tmp_path / "package")
    database = tmp_path / "shop.duckdb"
    shutil.copy(loaded_db, database)
    (tmp_path / "profiles.yml").write_text(
        f"{PROJECT}:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        f"      path: {json.dumps(str(database))}\n      schema: shop_metrics\n      threads: 4\n",
        encoding="utf-8",
    )
    return project, database


def dbt(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DBT_SEND_ANONYMOUS_USAGE_STATS="false", DBT_USE_COLORS="false")
    return subprocess.run(
        [
            str(DBT),
            *args,
            "--profiles-dir",
            str(project.parent),
            "--vars",
            '{"source_dataset_name": "raw_shop"}',
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def run_results(project: Path) -> dict[str, str]:
    data = json.loads((project / "target" / "run_results.json").read_text())
    return {r["unique_id"]: r["status"] for r in data["results"]}


def split_warn_test(statuses: dict[str, str]) -> tuple[str, dict[str, str]]:
    """The status of the one test allowed to warn, and the statuses of all other tests."""
    warn = [s for uid, s in statuses.items() if uid.startswith(WARN_TEST)]
    others = {uid: s for uid, s in statuses.items() if uid.startswith("test.") and not uid.startswith(WARN_TEST)}
    assert len(warn) == 1, sorted(statuses)
    return warn[0], others


def query(database: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(sql).fetchall()


def assert_revenue_matches(revenue: Decimal, batches: int) -> None:
    """Orders are rounded to cents (half-even here, the database's rule there): at most a cent apart each."""
    expected, orders = expected_revenue_eur(batches)
    assert expected > 0
    assert abs(revenue - expected) <= Decimal("0.01") * orders


def expected_revenue_eur(batches: int) -> tuple[Decimal, int]:
    """Revenue computed straight from the generated rows: items + shipping of orders that were not cancelled
    or returned, in EUR, each order rounded to cents as the package does."""
    orders: dict[int, dict[str, object]] = {}
    items: dict[int, Decimal] = {}
    for batch in range(batches):
        data = generate_sample_data(batch=batch)
        orders.update({o["order_id"]: o for o in data.orders})  # later loads update the status
        for i in data.order_items:
            items[i["order_id"]] = (
                items.get(i["order_id"], Decimal(0)) + i["quantity"] * i["unit_price"] - i["discount_amount"]
            )
    total = Decimal(0)
    for order_id, o in orders.items():
        if o["status"] in ("cancelled", "returned"):
            continue
        amount = (items.get(order_id, Decimal(0)) + o["shipping_amount"]) / EUR_RATES[o["currency_code"]]
        total += amount.quantize(Decimal("0.01"))
    return total, len(orders)


def test_package_builds_then_picks_up_the_next_load(workspace: tuple[Path, Path], tmp_path: Path) -> None:
    project, database = workspace
    build = dbt(project, "build")
    assert build.returncode == 0, build.stdout[-3000:]
    statuses = run_results(project)
    built = {uid.split(".")[-1] for uid, s in statuses.items() if uid.startswith("model.") and s == "success"}
    assert built == MODELS
    assert {s for uid, s in statuses.items() if uid.startswith("seed.")} == {"success"}
    warn, tests = split_warn_test(statuses)
    assert warn == "warn"  # events that point at removed products: tolerated, reported
    assert len(tests) > 40
    assert set(tests.values()) == {"pass"}

    assert query(database, "select count(*) from shop_metrics.daily_revenue")[0][0] == 14
    (revenue,) = query(database, "select sum(revenue_eur) from shop_metrics.daily_revenue")[0]
    assert_revenue_matches(revenue, 1)
    customers = query(database, "select count(*) from shop_metrics.customer_lifetime_value")[0][0]
    assert customers == len(generate_sample_data().customers)
    rates = query(database, "select min(conversion_rate), max(conversion_rate) from shop_metrics.conversion_funnel")
    assert 0 <= rates[0][0] <= rates[0][1] < 1

    # the next day's load: the incremental model adds its events, late ones included
    load_sample_data(database, "raw_shop", pipelines_dir=tmp_path / "dlt", batch=1)
    second = dbt(project, "build")
    assert second.returncode == 0, second.stdout[-3000:]
    assert "incremental model shop_metrics.fct_web_events" in second.stdout
    raw, modelled, distinct = query(
        database,
        "select (select count(*) from raw_shop.events), count(*), count(distinct event_id) "
        "from shop_metrics.fct_web_events",
    )[0]
    assert raw == modelled == distinct  # late events included, nothing twice
    assert query(database, "select count(*) from shop_metrics.daily_revenue")[0][0] == 15
    (revenue,) = query(database, "select sum(revenue_eur) from shop_metrics.daily_revenue")[0]
    assert_revenue_matches(revenue, 2)


def test_sources_are_fresh_after_a_load(workspace: tuple[Path, Path]) -> None:
    project, _ = workspace
    freshness = dbt(project, "source", "freshness")
    assert freshness.returncode == 0, freshness.stdout[-3000:]
    sources = json.loads((project / "target" / "sources.json").read_text())["results"]
    assert {s["unique_id"].split(".")[-1] for s in sources} == {
        "customers",
        "sessions",
        "events",
        "orders",
        "order_items",
    }
    assert {s["status"] for s in sources} == {"pass"}


def test_out_of_sync_incremental_model(workspace: tuple[Path, Path]) -> None:
    """fct_web_events is incremental with on_schema_change: fail; a new column puts it out of sync."""
    project, database = workspace
    destination = {"type": "duckdb", "path": str(database)}
    variables = {"source_dataset_name": "raw_shop"}
    model = project / "models" / "marts" / "fct_web_events.sql"
    strict = dbt_kickoff.package(
        destination, project, dataset_name="shop_metrics", auto_full_refresh_when_out_of_sync=False
    )
    with strict:
        first = strict.run(["--select", "+fct_web_events"], additional_vars=variables)
        assert {r.status for r in first} == {"success"}
        model.write_text(model.read_text().replace("    s.country_code\n", "    s.country_code,\n    s.landing_page\n"))
        with pytest.raises(dbt_kickoff.IncrementalSchemaOutOfSyncError) as failure:
            strict.run(["--select", "fct_web_events"], additional_vars=variables)
    assert [r.model_name for r in failure.value.failed_nodes] == ["fct_web_events"]

    with dbt_kickoff.package(destination, project, dataset_name="shop_metrics") as runner:
        results = runner.run(["--select", "fct_web_events"], additional_vars=variables)
        assert runner.last_report.steps[-1].full_refresh_retry
    assert [(r.model_name, r.status) for r in results] == [("fct_web_events", "success")]
    columns = [c[0] for c in query(database, "describe shop_metrics.fct_web_events")]
    assert "landing_page" in columns


def test_run_all_on_postgres(postgres: PostgresServer, tmp_path: Path) -> None:
    import dlt

    pipeline = dlt.pipeline(
        pipeline_name="demo_pg",
        pipelines_dir=str(tmp_path / "dlt"),
        dataset_name="raw_shop",
        destination=dlt.destinations.postgres(credentials=postgres.url()),
    )
    info = pipeline.run(sample_resources())
    assert not info.has_failed_jobs
    project = shutil.copytree(DBT_PACKAGE_DIR, tmp_path / "package")
    with dbt_kickoff.package(pipeline, project, dataset_name="shop_metrics_pg") as runner:
        results = runner.run_all()
    statuses = {r.unique_id: r.status for r in results}
    assert {s for uid, s in statuses.items() if uid.startswith(("model.", "seed."))} == {"success"}
    assert {uid.split(".")[-1] for uid in statuses if uid.startswith("model.")} == MODELS
    warn, tests = split_warn_test(statuses)
    assert warn == "warn"
    assert set(tests.values()) == {"pass"}

    import psycopg2

    with psycopg2.connect(postgres.url()) as con, con.cursor() as cur:
        cur.execute("select sum(revenue_eur) from shop_metrics_pg.daily_revenue")
        (revenue,) = cur.fetchone()
    assert_revenue_matches(revenue, 1)
