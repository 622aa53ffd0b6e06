"""The dbt package of the soundness tests (issue 19), written by the tests, and the data it reads.

About twenty models over two sources and two seeds, with what a real package has around its SQL: a macro in a
``macro-paths`` folder outside the project (``../shared_macros``, as monorepos share them) and one inside, a
model in a ``model-paths`` folder outside it (``../shared_models``), vars
set in ``dbt_project.yml``, an ephemeral model, views and tables, an incremental model, a snapshot, an
``env_var()`` model, tests on models and sources. Sources:

- ``shop.orders`` (schema ``raw``): a plain loader, ``loaded_at_field`` and a freshness threshold;
- ``crm.customers`` (dataset ``crm``): loaded by a real dlt pipeline.

SQL runs on DuckDB and PostgreSQL alike. Row values depend only on the row id, so two warehouses loaded alike
hold the same data.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench.branch_loads import Warehouse

PROJECT = "sound"
SCHEMA = "analytics"
ORDER_SCHEMA = "raw"
CUSTOMER_DATASET = "crm"
SOURCE_SCHEMAS = frozenset({ORDER_SCHEMA, CUSTOMER_DATASET, f"{CUSTOMER_DATASET}_staging"})
"""Schemas the loaders write (never a model's): left out of the table comparison."""
ORDERS = 200
CUSTOMERS = 30
PRODUCTS_IN_ORDERS = 40
BIG_SEED_BYTES = 1_200_000  # dbt keeps only the path as checksum of a seed over 1 MiB
FIRST_LOAD = datetime(2026, 1, 1)
REGION_VARIABLE = "SOUND_REGION"

DBT_PROJECT = f"""name: {PROJECT}
version: '1.0'
config-version: 2
profile: {PROJECT}
model-paths: ["models", "../shared_models"]
macro-paths: ["macros", "../shared_macros"]
seed-paths: ["seeds"]
snapshot-paths: ["snapshots"]
test-paths: ["tests"]
flags:
  send_anonymous_usage_stats: false
vars:
  tax_rate: 0.2
  high_value_threshold: 1500
models:
  {PROJECT}:
    +materialized: table
    staging:
      +materialized: view
"""

SHARED_MONEY_MACRO = """{% macro money(cents) -%}
    round(cast({{ cents }} as numeric) / 100, 2)
{%- endmacro %}
"""

STATUS_MACRO = """{% macro status_label(status) -%}
    case {{ status }} when 'returned' then 'lost' else 'kept' end
{%- endmacro %}
"""

SOURCES_YML = f"""sources:
  - name: shop
    schema: {ORDER_SCHEMA}
    config:
      loaded_at_field: loaded_at
      freshness:
        warn_after: {{count: 3650, period: day}}
    tables:
      - name: orders
        columns:
          - name: id
            data_tests: [not_null]
  - name: crm
    schema: {CUSTOMER_DATASET}
    tables:
      - name: customers
"""

MODELS_YML = """models:
  - name: orders
    columns:
      - name: order_id
        data_tests: [unique, not_null]
      - name: customer_id
        data_tests:
          - relationships:
              arguments:
                to: ref('customers')
                field: customer_id
  - name: customers
    columns:
      - name: customer_id
        data_tests: [unique]
"""

MODELS = {
    "staging/stg_orders.sql": """select id as order_id, customer_id, product_id, {{ money('amount_cents') }} as amount,
    status, loaded_at
from {{ source('shop', 'orders') }}
""",
    "staging/stg_customers.sql": """select id as customer_id, name, country_code
from {{ source('crm', 'customers') }}
""",
    "staging/stg_products.sql": """select product_id, name as product_name, {{ money('price_cents') }} as price,
    category
from {{ ref('products') }}
""",
    "staging/stg_countries.sql": """{{ config(materialized='ephemeral') }}
select code as country_code, name as country_name, region from {{ ref('countries') }}
""",
    "marts/customers.sql": """select c.customer_id, c.name, c.country_code, k.country_name, k.region
from {{ ref('stg_customers') }} c left join {{ ref('stg_countries') }} k on k.country_code = c.country_code
""",
    "marts/orders.sql": """select o.order_id, o.customer_id, o.product_id, o.amount, o.status, p.category, o.loaded_at
from {{ ref('stg_orders') }} o left join {{ ref('stg_products') }} p on p.product_id = o.product_id
""",
    "marts/orders_taxed.sql": """select order_id, amount,
    round(amount * (1 + {{ var('tax_rate') }}), 2) as amount_with_tax
from {{ ref('orders') }}
""",
    "marts/orders_labeled.sql": """select order_id, {{ status_label('status') }} as outcome from {{ ref('orders') }}
""",
    "marts/orders_by_status.sql": """select status, count(*) as orders, sum(amount) as amount from {{ ref('orders') }}
group by status
""",
    "marts/revenue_by_country.sql": """select c.country_code, count(*) as orders, sum(o.amount) as revenue
from {{ ref('orders') }} o join {{ ref('customers') }} c on c.customer_id = o.customer_id
group by c.country_code
""",
    "marts/revenue_by_category.sql": """select category, count(*) as orders, sum(amount) as revenue
from {{ ref('orders') }} group by category
""",
    "marts/country_summary.sql": """select k.country_name, k.region, r.orders, r.revenue
from {{ ref('revenue_by_country') }} r join {{ ref('stg_countries') }} k on k.country_code = r.country_code
""",
    "marts/customer_lifetime.sql": """select customer_id, count(*) as orders, sum(amount) as lifetime_amount
from {{ ref('orders') }} group by customer_id
""",
    "marts/high_value_customers.sql": """select customer_id, lifetime_amount from {{ ref('customer_lifetime') }}
where lifetime_amount > {{ var('high_value_threshold') }}
""",
    "marts/top_customers.sql": """{{ config(materialized='view') }}
select customer_id, lifetime_amount from {{ ref('customer_lifetime') }}
order by lifetime_amount desc, customer_id limit 5
""",
    "marts/daily_orders.sql": """select cast(loaded_at as date) as day, count(*) as orders, sum(amount) as amount
from {{ ref('orders') }} group by cast(loaded_at as date)
""",
    "marts/products_without_orders.sql": """{{ config(materialized='view') }}
select p.product_id, p.product_name from {{ ref('stg_products') }} p
where not exists (select 1 from {{ ref('orders') }} o where o.product_id = p.product_id)
""",
    "marts/orders_incremental.sql": """{{ config(materialized='incremental', unique_key='order_id') }}
select order_id, customer_id, amount, loaded_at from {{ ref('stg_orders') }}
{% if is_incremental() %}
where loaded_at > (select max(loaded_at) from {{ this }})
{% endif %}
""",
    "marts/region_label.sql": """select '{{ env_var('SOUND_REGION', 'eu') }}' as region_label, count(*) as customers
from {{ ref('customers') }}
""",
    "marts/kpis.sql": """select (select count(*) from {{ ref('orders') }}) as orders,
    (select sum(amount) from {{ ref('orders') }}) as revenue,
    (select count(*) from {{ ref('high_value_customers') }}) as high_value_customers,
    {{ var('tax_rate') }} as tax_rate
""",
}

SHARED_MODELS = {
    "orders_per_customer.sql": """select customer_id, count(*) as orders from {{ ref('orders') }} group by customer_id
""",
}
"""Models of ``../shared_models``, a model path outside the project folder."""

SNAPSHOTS_YML = """snapshots:
  - name: orders_snapshot
    relation: source('shop', 'orders')
    config:
      unique_key: id
      strategy: timestamp
      updated_at: loaded_at
"""

SINGULAR_TEST = "select * from {{ ref('orders') }} where amount < 0\n"

COUNTRIES = (("DE", "Germany", "EU"), ("FR", "France", "EU"), ("US", "United States", "NA"),
             ("BR", "Brazil", "SA"), ("JP", "Japan", "AS"))


def write_package(root: Path, *, big_seed: bool = True) -> Path:
    """Write the project into ``root``/project, the shared macros and models into ``root``/shared_macros and
    ``root``/shared_models; return the project folder. ``big_seed``: make the ``products`` seed larger than
    1 MiB (else a few rows)."""
    project = root / "project"
    files = {
        "dbt_project.yml": DBT_PROJECT,
        "macros/status_label.sql": STATUS_MACRO,
        "models/staging/_sources.yml": SOURCES_YML,
        "models/marts/_models.yml": MODELS_YML,
        "snapshots/orders_snapshot.yml": SNAPSHOTS_YML,
        "tests/no_negative_amounts.sql": SINGULAR_TEST,
        "seeds/countries.csv": "code,name,region\n" + "".join(f"{c},{n},{r}\n" for c, n, r in COUNTRIES),
        "seeds/products.csv": products_csv(BIG_SEED_BYTES if big_seed else 0),
        **{f"models/{name}": sql for name, sql in MODELS.items()},
    }
    for relative, text in files.items():
        write(project / relative, text)
    write(root / "shared_macros" / "money.sql", SHARED_MONEY_MACRO)
    for name, sql in SHARED_MODELS.items():
        write(root / "shared_models" / name, sql)
    return project


def products_csv(min_bytes: int, price_offset: int = 0) -> str:
    """The ``products`` seed: at least ``PRODUCTS_IN_ORDERS`` rows and ``min_bytes`` bytes. Every row has the
    same length for a given row count, so ``price_offset`` (0-9) changes prices without changing the size."""
    if not 0 <= price_offset <= 9:
        raise ValueError("price_offset keeps the file size only from 0 to 9")
    lines = ["product_id,name,price_cents,category,description"]
    row = 1
    while row <= PRODUCTS_IN_ORDERS or sum(len(line) + 1 for line in lines) < min_bytes:
        category = ("books", "games", "tools")[row % 3]
        lines.append(f"{row},product {row:06d},{1000 + row % 900 * 10 + price_offset},{category},{'x' * 60}")
        row += 1
    return "\n".join(lines) + "\n"


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def order_rows(ids: Iterable[int], loaded_at: datetime | None = None) -> list[tuple[Any, ...]]:
    """Rows of ``raw.orders``; ``loaded_at`` defaults to the row's own time (an hour per id)."""
    statuses = ("placed", "shipped", "returned")
    return [(i, i % CUSTOMERS + 1, i % PRODUCTS_IN_ORDERS + 1, (i * 37) % 10_000 + 100, statuses[i % 3],
             loaded_at or FIRST_LOAD + timedelta(hours=i)) for i in ids]


def customer_rows() -> list[dict[str, Any]]:
    return [{"id": i, "name": f"customer {i:03d}", "country_code": COUNTRIES[i % len(COUNTRIES)][0]}
            for i in range(1, CUSTOMERS + 1)]


def load_sources(warehouse: Warehouse, pipelines_dir: Path) -> None:
    """Create and fill both sources: ``raw.orders`` with SQL, ``crm.customers`` with a dlt pipeline."""
    with warehouse.connect() as con:
        cur = con.cursor()
        cur.execute(f"create schema if not exists {ORDER_SCHEMA}")
        cur.execute(f"create table {ORDER_SCHEMA}.orders (id integer, customer_id integer, product_id integer, "
                    "amount_cents integer, status varchar(20), loaded_at timestamp)")
    insert_orders(warehouse, order_rows(range(1, ORDERS + 1)))
    import dlt

    pipeline = dlt.pipeline(f"{PROJECT}_customers", destination=warehouse.dlt_destination(),
                            dataset_name=CUSTOMER_DATASET, pipelines_dir=str(pipelines_dir))
    pipeline.run(customer_rows(), table_name="customers")


def insert_orders(warehouse: Warehouse, rows: list[tuple[Any, ...]]) -> None:
    with warehouse.connect() as con:
        cur = con.cursor()
        mark = "?" if warehouse.duckdb_path is not None else "%s"
        cur.executemany(f"insert into {ORDER_SCHEMA}.orders values ({', '.join([mark] * 6)})", rows)

EPHEMERAL = frozenset({"stg_countries"})
TABLE_MODELS = frozenset(Path(name).stem for name in (*MODELS, *SHARED_MODELS)) - EPHEMERAL
"""The models that leave a relation in the warehouse."""
