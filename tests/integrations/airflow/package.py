"""The dbt package of the task group tests: ~30 nodes of every kind a task group renders, on a DuckDB file.

The generated layers of ``bench/generate_package.py`` (22 models over two seeds, with tests of one and two
parents), plus a source (``raw_data.orders``, with a test), an ephemeral model, a table, a snapshot, a singular
test, a model that can be broken (``fragile``: :func:`break_model` / :func:`fix_model`) with a model and a test
below it, a model that runs until it is cancelled when asked (``slow``: the var ``slow_marker`` names a file its
pre-hook writes first, so a test knows when dbt is inside it), and a YAML selector. ``dbt parse`` is left to the
caller (the task group renders from the manifest in ``target/``).
"""

from __future__ import annotations

from pathlib import Path

from bench.generate_package import PROJECT_NAME, generate_package

from tests.core.conftest import load_orders_duckdb

MODELS = 22
FRAGILE_SQL = "select id, amount from {{ ref('fct_orders') }}\n"
BROKEN_SQL = "select id, amount from {{ ref('fct_orders') }} join no_such_table using (id)\n"
EXTRA_MODELS = {
    "staging/stg_orders.sql": "select id, country, amount, created_at from {{ source('raw', 'orders') }}\n",
    "staging/int_orders.sql": ("{{ config(materialized='ephemeral') }}\n"
                               "select id, amount from {{ ref('stg_orders') }}\n"),
    "marts/fct_orders.sql": ("{{ config(materialized='table') }}\nselect o.id, o.amount, s.label\n"
                             "from {{ ref('int_orders') }} o left join {{ ref('seed_0') }} s on s.id = o.id\n"),
    "marts/fragile.sql": FRAGILE_SQL,
    "marts/after_fragile.sql": "select id, amount * 2 as doubled from {{ ref('fragile') }}\n",
    "marts/slow.sql": (
        "{{ config(materialized='table', pre_hook=([\"copy (select 1 as started) to '\" ~ var('slow_marker') ~ "
        "\"' (header)\"] if var('slow_marker', '') else [])) }}\n"
        "select count(*) as n from {{ ref('fct_orders') }}\n"
        "{% if var('slow_marker', '') %}, range(1000000000000) as t(i) where i % 7 = 3{% endif %}\n"
    ),
}
EXTRA_YAML = """
sources:
  - name: raw
    schema: raw_data
    tables:
      - name: orders
        columns:
          - name: id
            data_tests: [not_null]
models:
  - name: fct_orders
    columns:
      - name: id
        data_tests: [unique, not_null]
  - name: fragile
    columns:
      - name: id
        data_tests: [not_null]
"""
SNAPSHOT_YAML = """
snapshots:
  - name: orders_snapshot
    relation: ref('fct_orders')
    config:
      unique_key: id
      strategy: check
      check_cols: all
"""
SINGULAR_TEST = "select * from {{ ref('fct_orders') }} where amount < 0\n"
SELECTORS = """
selectors:
  - name: marts
    definition:
      method: path
      value: models/marts
"""


def make_package(target: Path, warehouse: Path | None = None) -> Path:
    """Write the package into ``target`` (and, with ``warehouse``, a DuckDB file with ``raw_data.orders``)."""
    generate_package(target, models=MODELS, seeds=2, layers=4, rows=50)
    models = target / "models"
    for relative, sql in EXTRA_MODELS.items():
        (models / relative).parent.mkdir(parents=True, exist_ok=True)
        (models / relative).write_text(sql, encoding="utf-8")
    (models / "marts" / "_marts.yml").write_text(EXTRA_YAML, encoding="utf-8")
    (target / "snapshots").mkdir()
    (target / "snapshots" / "orders_snapshot.yml").write_text(SNAPSHOT_YAML, encoding="utf-8")
    (target / "tests").mkdir()
    (target / "tests" / "no_negative_amount.sql").write_text(SINGULAR_TEST, encoding="utf-8")
    (target / "selectors.yml").write_text(SELECTORS, encoding="utf-8")
    if warehouse is not None:
        load_orders_duckdb(warehouse)
    return target


def break_model(package: Path) -> None:
    """Make ``fragile`` fail (it reads a table that does not exist)."""
    (package / "models" / "marts" / "fragile.sql").write_text(BROKEN_SQL, encoding="utf-8")


def fix_model(package: Path) -> None:
    (package / "models" / "marts" / "fragile.sql").write_text(FRAGILE_SQL, encoding="utf-8")


PROJECT = PROJECT_NAME
