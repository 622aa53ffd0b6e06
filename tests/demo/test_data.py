"""The demo's sample data: deterministic, realistic shapes, and loads that fit together over time."""

from __future__ import annotations

import csv
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from dbt_kickoff.demo import DBT_PACKAGE_DIR
from dbt_kickoff.demo.data import (
    COUNTRIES,
    DEFAULT_DAYS,
    DEFAULT_START,
    EUR_RATES,
    SampleData,
    generate_sample_data,
    load_sample_data,
)
from dbt_kickoff.errors import ConfigurationError, PrerequisitesException

KEYS = {
    "customers": "customer_id",
    "products": "product_id",
    "sessions": "session_id",
    "events": "event_id",
    "orders": "order_id",
    "order_items": "order_item_id",
}


@pytest.fixture(scope="module")
def loads() -> list[SampleData]:
    return [generate_sample_data(batch=b) for b in range(4)]


def test_same_seed_same_rows_other_seed_other_rows() -> None:
    assert generate_sample_data().tables() == generate_sample_data().tables()
    assert generate_sample_data(batch=2).tables() == generate_sample_data(batch=2).tables()
    assert generate_sample_data(seed=7).events != generate_sample_data().events


def test_initial_load_has_realistic_shapes(loads: list[SampleData]) -> None:
    first = loads[0]
    sizes = {name: len(rows) for name, rows in first.tables().items()}
    assert 2_000 < first.row_count() < 20_000, sizes
    assert sizes["events"] > sizes["sessions"] > sizes["orders"] > 50
    assert sizes["order_items"] >= sizes["orders"]
    for name, rows in first.tables().items():
        keys = [row[KEYS[name]] for row in rows]
        assert len(keys) == len(set(keys)), f"duplicate keys in {name}"
    # every funnel step occurs, and each narrows the one before it
    steps = Counter(e["event_type"] for e in first.events)
    assert steps["page_view"] > steps["product_view"] > steps["add_to_cart"] > steps["begin_checkout"]
    assert steps["begin_checkout"] > steps["purchase"] > 0
    # timestamps are UTC and within the window (events may be received a few hours later)
    window_end = DEFAULT_START + timedelta(days=DEFAULT_DAYS)
    assert all(e["event_at"].tzinfo is not None for e in first.events)
    assert {e["event_at"].date() for e in first.events} == {
        DEFAULT_START + timedelta(days=d) for d in range(DEFAULT_DAYS)
    }
    assert all(e["received_at"].date() < window_end for e in first.events)


def test_optional_fields_are_sometimes_empty(loads: list[SampleData]) -> None:
    first = loads[0]
    assert any(c["email"] is None for c in first.customers)
    assert any(c["country_code"] is None for c in first.customers)
    assert any(p["category"] is None for p in first.products)
    assert any(s["customer_id"] is None for s in first.sessions)  # anonymous visitors
    assert any(o["session_id"] is None for o in first.orders)  # phone orders
    assert any(o["discount_code"] is not None for o in first.orders)
    assert all(o["customer_id"] is not None for o in first.orders)


def test_some_events_arrive_late_and_come_with_the_next_load(loads: list[SampleData]) -> None:
    first, second = loads[0], loads[1]
    delays = [e["received_at"] - e["event_at"] for e in first.events]
    assert any(d > timedelta(hours=1) for d in delays)
    assert sum(d > timedelta(hours=1) for d in delays) < 0.1 * len(delays)
    new_day = DEFAULT_START + timedelta(days=DEFAULT_DAYS)
    late = [e for e in second.events if e["event_at"].date() < new_day]
    assert late, "the second load should bring events of the day before that arrived after the cut-off"
    first_sessions = {s["session_id"] for s in first.sessions}
    assert all(e["session_id"] in first_sessions for e in late)


def test_later_loads_fit_the_earlier_ones(loads: list[SampleData]) -> None:
    seen: dict[str, set[object]] = {name: set() for name in KEYS}
    for number, load in enumerate(loads):
        if number:
            assert load.products == []  # the catalogue comes once
            assert len(load.customers) > 0  # a few sign-ups every day
        assert not {e["event_id"] for e in load.events} & seen["events"], "events are appended: never twice"
        assert not {s["session_id"] for s in load.sessions} & seen["sessions"]
        updates = [o for o in load.orders if o["order_id"] in seen["orders"]]
        assert all(o["status"] in ("shipped", "delivered") for o in updates)
        if number:
            assert updates, f"load {number} should move some earlier orders on"
        for name, rows in load.tables().items():
            seen[name] |= {row[KEYS[name]] for row in rows}
        # everything a row points at exists by now
        assert {o["customer_id"] for o in load.orders} <= seen["customers"]
        assert {i["order_id"] for i in load.order_items} <= seen["orders"]
        assert {e["session_id"] for e in load.events} <= seen["sessions"]
        assert {s["customer_id"] for s in load.sessions if s["customer_id"]} <= seen["customers"]


def test_some_events_point_at_products_removed_from_the_catalogue(loads: list[SampleData]) -> None:
    product_ids = {p["product_id"] for p in loads[0].products}
    viewed = {e["product_id"] for e in loads[0].events if e["product_id"] is not None}
    assert viewed - product_ids  # the source test on events.product_id warns about these
    ordered = {i["product_id"] for i in loads[0].order_items}
    assert ordered <= product_ids


def test_countries_and_currencies_match_the_bundled_seeds() -> None:
    with (DBT_PACKAGE_DIR / "seeds" / "country_codes.csv").open(newline="") as f:
        seed_countries = {row["country_code"]: row["currency_code"] for row in csv.DictReader(f)}
    with (DBT_PACKAGE_DIR / "seeds" / "currency_rates.csv").open(newline="") as f:
        seed_rates = {row["currency_code"]: row["eur_rate"] for row in csv.DictReader(f)}
    for country, (currency, _) in COUNTRIES.items():
        assert seed_countries[country] == currency
    for currency, rate in EUR_RATES.items():
        assert float(seed_rates[currency]) == float(rate)


def test_bad_arguments_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError, match="batch"):
        generate_sample_data(batch=-1)
    with pytest.raises(ConfigurationError, match="days"):
        generate_sample_data(days=0)


def test_missing_dlt_is_a_prerequisites_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "dlt", None)  # makes `import dlt` fail as if it were not installed
    with pytest.raises(PrerequisitesException, match=r"dbt-kickoff\[demo\]"):
        load_sample_data(tmp_path / "shop.duckdb", pipelines_dir=tmp_path / "dlt")
    assert not (tmp_path / "shop.duckdb").exists()


@pytest.mark.slow
def test_load_into_duckdb(tmp_path: Path) -> None:
    database = tmp_path / "shop.duckdb"
    pipeline, info = load_sample_data(database, "raw_shop", pipelines_dir=tmp_path / "dlt")
    assert not info.has_failed_jobs
    assert pipeline.dataset_name == "raw_shop"
    expected = generate_sample_data()
    pipeline, info = load_sample_data(database, "raw_shop", pipelines_dir=tmp_path / "dlt", batch=1)
    second = generate_sample_data(batch=1)
    with duckdb.connect(str(database), read_only=True) as con:
        counts = {name: con.execute(f"select count(*) from raw_shop.{name}").fetchone()[0] for name in KEYS}
        types = dict(con.execute("select column_name, data_type from information_schema.columns "
                                 "where table_schema = 'raw_shop' and table_name = 'orders'").fetchall())
        loads = con.execute("select count(*) from raw_shop._dlt_loads where status = 0").fetchone()[0]
    assert loads == 2
    assert counts["events"] == len(expected.events) + len(second.events)  # appended
    assert counts["customers"] == len(expected.customers) + len(second.customers)
    merged_orders = {o["order_id"] for o in expected.orders} | {o["order_id"] for o in second.orders}
    assert counts["orders"] == len(merged_orders)  # status updates merged on order_id
    assert types["ordered_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["shipping_amount"] == "DECIMAL(12,2)"
    assert types["discount_code"] == "VARCHAR"  # typed even though most rows leave it empty
