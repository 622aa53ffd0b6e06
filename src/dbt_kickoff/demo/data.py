"""A deterministic e-commerce sample data set for the demo, and its load into DuckDB with dlt.

The shop sells in a handful of countries and currencies. Web sessions (anonymous or signed in) produce a
funnel of events (page view, product view, add to cart, checkout, purchase); a purchase becomes an order with
its items. The data has what real loads have: optional fields left empty, a few events that reach the
warehouse hours after they happened (``received_at`` later than ``event_at``), a few events pointing at
products that were since removed from the catalogue, and orders whose status changes in a later load.

``batch=0`` is the initial load (``DEFAULT_DAYS`` days of activity). ``batch=N`` (N >= 1) is a later,
incremental load: one more day of activity, late-arriving events about earlier days, status updates of
earlier orders, and a few new customers. The same ``seed`` and ``batch`` always give the same rows.
"""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dbt_kickoff.errors import ConfigurationError, PrerequisitesException

if TYPE_CHECKING:
    from dlt import Pipeline
    from dlt.common.pipeline import LoadInfo

Row = dict[str, Any]

DEFAULT_SEED = 20240301
DEFAULT_START = date(2024, 3, 1)
DEFAULT_DAYS = 14
DEFAULT_PIPELINE_NAME = "dbt_kickoff_demo"

# country -> (currency, share of customers); must match the bundled seed country_codes.csv
COUNTRIES: dict[str, tuple[str, float]] = {
    "DE": ("EUR", 0.28),
    "FR": ("EUR", 0.14),
    "NL": ("EUR", 0.08),
    "GB": ("GBP", 0.18),
    "US": ("USD", 0.20),
    "PL": ("PLN", 0.07),
    "SE": ("SEK", 0.05),
}
# units of the currency per 1 EUR; must match the bundled seed currency_rates.csv
EUR_RATES: dict[str, Decimal] = {
    "EUR": Decimal("1"),
    "GBP": Decimal("0.86"),
    "USD": Decimal("1.09"),
    "PLN": Decimal("4.32"),
    "SEK": Decimal("11.27"),
}
CATEGORIES: dict[str, tuple[int, int]] = {  # category -> price range in EUR
    "coffee": (8, 24),
    "tea": (5, 18),
    "brewing": (15, 140),
    "mugs": (9, 35),
    "grinders": (40, 260),
}
ADJECTIVES = ["Classic", "Organic", "Single Origin", "Smoky", "Bright", "Everyday", "Barista", "Travel"]
CHANNELS = {"organic": 0.34, "paid_search": 0.22, "email": 0.14, "social": 0.12, "direct": 0.18}
DEVICES = {"mobile": 0.56, "desktop": 0.38, "tablet": 0.06}
ORDER_STATUSES = ("placed", "shipped", "delivered", "returned", "cancelled")
EVENT_TYPES = ("page_view", "product_view", "add_to_cart", "begin_checkout", "purchase")
FIRST_NAMES = [
    "Anna",
    "Ben",
    "Clara",
    "David",
    "Emma",
    "Felix",
    "Greta",
    "Hugo",
    "Ida",
    "Jonas",
    "Karla",
    "Leo",
    "Mia",
    "Noah",
    "Olivia",
    "Paul",
    "Quinn",
    "Rosa",
    "Sam",
    "Tara",
    "Uma",
    "Victor",
    "Wen",
    "Xavier",
    "Yara",
    "Zoe",
]
LAST_NAMES = [
    "Schmidt",
    "Martin",
    "de Vries",
    "Smith",
    "Johnson",
    "Kowalski",
    "Andersson",
    "Müller",
    "Dubois",
    "Jansen",
    "Brown",
    "Nowak",
    "Lindqvist",
    "Weber",
    "Bernard",
    "Taylor",
]

_CUSTOMERS_PER_BATCH0 = 400
_NEW_CUSTOMERS_PER_DAY = 6
_PRODUCTS = 60
_SESSIONS_PER_DAY = 120


@dataclass
class SampleData:
    """The rows of one load, per table."""

    customers: list[Row] = field(default_factory=list)
    products: list[Row] = field(default_factory=list)
    sessions: list[Row] = field(default_factory=list)
    events: list[Row] = field(default_factory=list)
    orders: list[Row] = field(default_factory=list)
    order_items: list[Row] = field(default_factory=list)

    def tables(self) -> dict[str, list[Row]]:
        """Table name -> rows, in load order."""
        return {
            "customers": self.customers,
            "products": self.products,
            "sessions": self.sessions,
            "events": self.events,
            "orders": self.orders,
            "order_items": self.order_items,
        }

    def row_count(self) -> int:
        return sum(len(rows) for rows in self.tables().values())

    def extend(self, other: SampleData) -> None:
        for name, rows in other.tables().items():
            getattr(self, name).extend(rows)

    def received_before(self, cutoff: datetime) -> SampleData:
        """The same rows without the events that reached the warehouse at or after ``cutoff``."""
        return SampleData(
            self.customers,
            self.products,
            self.sessions,
            [e for e in self.events if e["received_at"] < cutoff],
            self.orders,
            self.order_items,
        )


def generate_sample_data(
    seed: int = DEFAULT_SEED, batch: int = 0, *, start: date = DEFAULT_START, days: int = DEFAULT_DAYS
) -> SampleData:
    """Generate the rows of load ``batch`` (0: the initial load; N >= 1: the N-th incremental load).

    Load N holds what reached the warehouse before midnight after its last day: events that arrived later
    (received after the cut-off) come with load N+1, as they would in a real pipeline.
    """
    if batch < 0:
        raise ConfigurationError(f"batch must be 0 (initial load) or a positive load number, not {batch}")
    if days < 1:
        raise ConfigurationError(f"days must be at least 1, not {days}")
    base_rng = random.Random(seed)
    products = _products(base_rng, start)
    customers = _customers(base_rng, start, days)
    data = SampleData()
    if batch == 0:
        data.products, data.customers = products, customers
    for earlier in range(1, batch + 1):
        data.customers = _new_customers(
            random.Random(f"{seed}:customers:{earlier}"), _day(start, days, earlier), earlier
        )
        customers = customers + data.customers
    cutoff = _midnight_after(_day(start, days, batch))
    if batch == 0:
        for offset in range(days):
            day = start + timedelta(days=offset)
            data.extend(_simulate_day(seed, day, customers, products).received_before(cutoff))
        return data
    # the previous load's day: events that arrived after its cut-off, and orders that moved on since
    previous_day = _day(start, days, batch - 1)
    previous = _simulate_day(seed, previous_day, customers, products)
    data.events = [e for e in previous.events if e["received_at"] >= _midnight_after(previous_day)]
    data.orders = _status_updates(random.Random(f"{seed}:updates:{batch}"), previous.orders, cutoff)
    data.extend(_simulate_day(seed, _day(start, days, batch), customers, products).received_before(cutoff))
    return data


def load_sample_data(
    duckdb_path: Path,
    dataset_name: str = "raw_shop",
    *,
    pipeline_name: str = DEFAULT_PIPELINE_NAME,
    pipelines_dir: Path | None = None,
    seed: int = DEFAULT_SEED,
    batch: int = 0,
) -> tuple[Pipeline, LoadInfo]:
    """Generate the sample data set and load it with dlt into the DuckDB file ``duckdb_path``.

    Returns the dlt pipeline (hand it to ``dbt_kickoff.package``) and its ``LoadInfo``. ``pipelines_dir``
    is where dlt keeps the pipeline's state (dlt's default folder when ``None``). Load ``batch=1, 2, ...``
    into the same file later to simulate incremental loads.
    """
    dlt = _import_dlt()
    duckdb_path = Path(duckdb_path)
    duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    options: dict[str, Any] = {"pipelines_dir": str(pipelines_dir)} if pipelines_dir is not None else {}
    pipeline = dlt.pipeline(
        pipeline_name=pipeline_name,
        destination=dlt.destinations.duckdb(str(duckdb_path)),
        dataset_name=dataset_name,
        **options,
    )
    load_info = pipeline.run(sample_resources(seed, batch))
    return pipeline, load_info


def sample_resources(seed: int = DEFAULT_SEED, batch: int = 0) -> list[Any]:
    """The rows of load ``batch`` as dlt resources (typed columns, primary keys, merge or append), ready for
    ``pipeline.run`` on any dlt destination."""
    dlt = _import_dlt()
    data = generate_sample_data(seed, batch)
    text, ts, bigint, flag, money = "text", "timestamp", "bigint", "bool", "money"
    types: dict[str, dict[str, str]] = {
        "customers": {
            "customer_id": bigint,
            "email": text,
            "first_name": text,
            "last_name": text,
            "country_code": text,
            "marketing_opt_in": flag,
            "signed_up_at": ts,
            "updated_at": ts,
        },
        "products": {
            "product_id": bigint,
            "sku": text,
            "product_name": text,
            "category": text,
            "unit_price_eur": money,
            "is_active": flag,
            "created_at": ts,
        },
        "sessions": {
            "session_id": text,
            "customer_id": bigint,
            "started_at": ts,
            "device": text,
            "channel": text,
            "country_code": text,
            "landing_page": text,
        },
        "events": {
            "event_id": text,
            "session_id": text,
            "customer_id": bigint,
            "event_type": text,
            "product_id": bigint,
            "order_id": bigint,
            "page_path": text,
            "event_at": ts,
            "received_at": ts,
        },
        "orders": {
            "order_id": bigint,
            "customer_id": bigint,
            "session_id": text,
            "status": text,
            "currency_code": text,
            "shipping_amount": money,
            "discount_code": text,
            "ordered_at": ts,
            "updated_at": ts,
        },
        "order_items": {
            "order_item_id": bigint,
            "order_id": bigint,
            "product_id": bigint,
            "quantity": bigint,
            "unit_price": money,
            "discount_amount": money,
        },
    }
    keys = {
        "customers": "customer_id",
        "products": "product_id",
        "sessions": "session_id",
        "events": "event_id",
        "orders": "order_id",
        "order_items": "order_item_id",
    }
    merged = {"customers", "products", "orders"}  # rows that change later are merged on their key
    resources = []
    for name, rows in data.tables().items():
        resources.append(
            dlt.resource(
                rows,
                name=name,
                primary_key=keys[name],
                write_disposition="merge" if name in merged else "append",
                columns={column: _column_hint(kind) for column, kind in types[name].items()},
            )
        )
    return resources


def _import_dlt() -> Any:
    try:
        import dlt
    except ImportError:
        raise PrerequisitesException(
            "the demo loads its sample data with dlt, which is not installed: "
            "pip install 'dbt-kickoff[demo]' (or 'dlt[duckdb]')"
        ) from None
    return dlt


def _column_hint(kind: str) -> dict[str, Any]:
    """A fresh dlt column hint (dlt fills the dict in, so each column needs its own)."""
    if kind == "money":
        return {"data_type": "decimal", "precision": 12, "scale": 2}
    return {"data_type": kind}


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _at(day: date, rng: random.Random) -> datetime:
    """A moment of ``day`` (UTC) following a day curve: quiet at night, peaks at lunch and in the evening."""
    hour = rng.choices(
        range(24), weights=[1, 1, 1, 1, 1, 2, 3, 5, 6, 7, 7, 8, 9, 8, 7, 7, 7, 8, 10, 11, 10, 8, 5, 3]
    )[0]
    return datetime(
        day.year, day.month, day.day, hour, rng.randrange(60), rng.randrange(60), tzinfo=timezone.utc
    )


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _products(rng: random.Random, start: date) -> list[Row]:
    products = []
    for product_id in range(1, _PRODUCTS + 1):
        category = list(CATEGORIES)[(product_id - 1) % len(CATEGORIES)]
        low, high = CATEGORIES[category]
        products.append(
            {
                "product_id": product_id,
                "sku": f"{category[:3].upper()}-{product_id:04d}",
                "product_name": f"{rng.choice(ADJECTIVES)} {category.rstrip('s').title()} {product_id}",
                "category": None if product_id % 29 == 0 else category,  # a few uncategorised products
                "unit_price_eur": Decimal(rng.randint(low * 100, high * 100)) / 100,
                "is_active": product_id % 17 != 0,
                "created_at": datetime(start.year, 1, 1, tzinfo=timezone.utc) + timedelta(days=product_id),
            }
        )
    return products


def _customer(rng: random.Random, customer_id: int, signed_up_at: datetime) -> Row:
    country = _pick(rng, {code: share for code, (_, share) in COUNTRIES.items()})
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    return {
        "customer_id": customer_id,
        "email": None
        if rng.random() < 0.04
        else f"{first}.{last}.{customer_id}@example.com".lower().replace(" ", ""),
        "first_name": first,
        "last_name": last,
        "country_code": None if rng.random() < 0.02 else country,  # some customers never gave a country
        "marketing_opt_in": rng.random() < 0.35,
        "signed_up_at": signed_up_at,
        "updated_at": signed_up_at,
    }


def _customers(rng: random.Random, start: date, days: int) -> list[Row]:
    customers = []
    for customer_id in range(1, _CUSTOMERS_PER_BATCH0 + 1):
        # most signed up before the window, a stream of newcomers during it
        offset = rng.randint(-365, days - 1)
        customers.append(_customer(rng, customer_id, _at(start + timedelta(days=offset), rng)))
    return customers


def _new_customers(rng: random.Random, day: date, batch: int) -> list[Row]:
    first_id = _CUSTOMERS_PER_BATCH0 + (batch - 1) * _NEW_CUSTOMERS_PER_DAY + 1
    return [_customer(rng, first_id + i, _at(day, rng)) for i in range(_NEW_CUSTOMERS_PER_DAY)]


def _day(start: date, days: int, batch: int) -> date:
    """The last day of activity in load ``batch``."""
    return start + timedelta(days=days + batch - 1)


def _midnight_after(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc) + timedelta(days=1)


def _simulate_day(seed: int, day: date, customers: list[Row], products: list[Row]) -> SampleData:
    """Everything that happened on ``day``: always the same rows for the same seed, day and customers."""
    rng = random.Random(f"{seed}:day:{day.isoformat()}")
    data = SampleData()
    weekend = day.weekday() >= 5
    order_numbers = itertools.count(int(day.strftime("%Y%m%d")) * 10_000 + 1)
    known = [c for c in customers if c["signed_up_at"].date() <= day]
    catalogue = [p for p in products if p["is_active"]]
    for _ in range(int(_SESSIONS_PER_DAY * (1.25 if weekend else 1.0))):
        customer = rng.choice(known) if known and rng.random() < 0.55 else None
        started_at = _at(day, rng)
        session: Row = {
            "session_id": _uuid(rng),
            "customer_id": customer["customer_id"] if customer else None,
            "started_at": started_at,
            "device": _pick(rng, DEVICES),
            "channel": _pick(rng, CHANNELS),
            "country_code": (customer or {}).get("country_code")
            or _pick(rng, {code: share for code, (_, share) in COUNTRIES.items()}),
            "landing_page": rng.choice(["/", "/", "/sale", "/coffee", "/tea", "/blog/brewing-guide"]),
        }
        data.sessions.append(session)
        _session_funnel(rng, session, customer, catalogue, order_numbers, data)
    # phone and marketplace orders: no web session behind them
    for _ in range(rng.randint(2, 5)):
        if known:
            items = rng.sample(catalogue, rng.randint(1, 3))
            _order(rng, next(order_numbers), rng.choice(known), None, _at(day, rng), items, data)
    return data


def _event(rng: random.Random, session: Row, event_type: str, at: datetime, **fields: Any) -> Row:
    # about 3% of events reach the warehouse hours late (mobile clients that were offline)
    delay = (
        timedelta(hours=rng.randint(2, 20)) if rng.random() < 0.03 else timedelta(seconds=rng.randint(1, 20))
    )
    row = {
        "event_id": _uuid(rng),
        "session_id": session["session_id"],
        "customer_id": session["customer_id"],
        "event_type": event_type,
        "product_id": None,
        "order_id": None,
        "page_path": None,
        "event_at": at,
        "received_at": at + delay,
    }
    row.update(fields)
    return row


def _session_funnel(
    rng: random.Random,
    session: Row,
    customer: Row | None,
    catalogue: list[Row],
    order_numbers: Iterator[int],
    data: SampleData,
) -> None:
    at = session["started_at"]

    def step() -> datetime:
        nonlocal at
        at += timedelta(seconds=rng.randint(5, 240))
        return at

    data.events.append(_event(rng, session, "page_view", at, page_path=session["landing_page"]))
    for _ in range(rng.randint(0, 3)):
        page = rng.choice(["/", "/about", "/sale"])
        data.events.append(_event(rng, session, "page_view", step(), page_path=page))
    if rng.random() > 0.7:
        return
    viewed = rng.sample(catalogue, rng.randint(1, 4))
    if rng.random() < 0.02:  # an old link to a product that is no longer in the catalogue
        viewed.append({"product_id": _PRODUCTS + rng.randint(1, 9)})
    for product in viewed:
        data.events.append(
            _event(
                rng,
                session,
                "product_view",
                step(),
                product_id=product["product_id"],
                page_path=f"/products/{product['product_id']}",
            )
        )
    if rng.random() > 0.45:
        return
    cart = [p for p in viewed if "sku" in p][: rng.randint(1, 3)]
    for product in cart:
        data.events.append(_event(rng, session, "add_to_cart", step(), product_id=product["product_id"]))
    if not cart or rng.random() > 0.65:
        return
    data.events.append(_event(rng, session, "begin_checkout", step(), page_path="/checkout"))
    if customer is None or rng.random() > 0.8:  # guests abandon, or drop out at payment
        return
    order_id = _order(rng, next(order_numbers), customer, session["session_id"], step(), cart, data)
    data.events.append(_event(rng, session, "purchase", at, order_id=order_id, page_path="/checkout/done"))


def _order(
    rng: random.Random,
    order_id: int,
    customer: Row,
    session_id: str | None,
    at: datetime,
    items: Iterable[Row],
    data: SampleData,
) -> int:
    currency = COUNTRIES.get(customer["country_code"] or "DE", ("EUR", 0))[0]
    rate = EUR_RATES[currency]
    status = rng.choices(ORDER_STATUSES, weights=[20, 25, 45, 6, 4])[0]
    data.orders.append(
        {
            "order_id": order_id,
            "customer_id": customer["customer_id"],
            "session_id": session_id,
            "status": status,
            "currency_code": currency,
            "shipping_amount": (Decimal("4.90") * rate).quantize(Decimal("0.01"))
            if rng.random() < 0.6
            else Decimal("0.00"),
            "discount_code": rng.choice(["SPRING10", "WELCOME5", "LOYAL15"]) if rng.random() < 0.15 else None,
            "ordered_at": at,
            "updated_at": at + timedelta(hours=rng.randint(0, 48)) if status != "placed" else at,
        }
    )
    for position, product in enumerate(items, start=1):
        price = (product["unit_price_eur"] * rate).quantize(Decimal("0.01"))
        data.order_items.append(
            {
                "order_item_id": order_id * 100 + position,
                "order_id": order_id,
                "product_id": product["product_id"],
                "quantity": rng.choices([1, 2, 3, 4], weights=[70, 20, 7, 3])[0],
                "unit_price": price,
                "discount_amount": (price * Decimal("0.1")).quantize(Decimal("0.01"))
                if rng.random() < 0.1
                else Decimal("0.00"),
            }
        )
    return order_id


def _status_updates(rng: random.Random, orders: list[Row], cutoff: datetime) -> list[Row]:
    """Yesterday's orders that were shipped or delivered since (dlt merges them on ``order_id``)."""
    updates = []
    for order in orders:
        if order["status"] in ("placed", "shipped") and rng.random() < 0.7:
            updates.append(
                dict(
                    order,
                    status="shipped" if order["status"] == "placed" else "delivered",
                    updated_at=cutoff - timedelta(minutes=rng.randint(1, 600)),
                )
            )
    return updates
