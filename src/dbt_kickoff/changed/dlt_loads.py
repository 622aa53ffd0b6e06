"""Which source tables dlt loaded into since the good run, from dlt's own ``_dlt_loads`` table.

A schema with a ``_dlt_loads`` table is dlt-loaded. Its newest completed load id is kept with each changed-only
run; when it has not moved, none of its dlt tables (those with a ``_dlt_load_id`` column) changed. When it has,
each source table's newest ``_dlt_load_id`` and row count are compared with the recorded ones (a ``replace``
that left fewer rows changes the count). Source tables in a dlt schema without ``_dlt_load_id`` are not
checkable (dlt's child tables, tables written by something else).

A full ``build()``/``run_all()`` with records keeps only the newest completed load id of each dlt schema
(:func:`newest_loads`, read before dbt starts); a changed-only call after it counts a schema's tables as
unchanged when that id has not moved, and as loaded otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dbt_kickoff.changed import summary
from dbt_kickoff.changed.sources import Source
from dbt_kickoff.changed.warehouse import Warehouse

LOADS_TABLE = "_dlt_loads"
LOAD_ID_COLUMN = "_dlt_load_id"


@dataclass
class DltCheck:
    snapshot: dict[str, Any] = field(default_factory=dict)
    """``{schema: {"last_load": id, "tables": {table: [newest load id, rows]}}}`` for the next run."""
    checked: set[str] = field(default_factory=set)
    """Sources whose changes dlt's load ids tell."""
    reasons: dict[str, str] = field(default_factory=dict)
    """unique_id -> reason, for the sources that received a load or cannot be told."""


def _dlt_columns(warehouse: Warehouse, schema: str) -> set[str] | None:
    """The lower-case names of the tables of ``schema`` with a ``_dlt_load_id`` column; ``None`` when the
    schema has no ``_dlt_loads`` table (not dlt-loaded)."""
    rows = warehouse.query(
        "select lower(table_name), lower(column_name) from information_schema.columns "
        "where lower(table_schema) = lower(?) and (lower(column_name) = ? or lower(table_name) = ?)",
        (schema, LOAD_ID_COLUMN, LOADS_TABLE),
    )
    if not any(table == LOADS_TABLE for table, _ in rows):
        return None
    return {table for table, column in rows if column == LOAD_ID_COLUMN}


def _table_state(warehouse: Warehouse, schema: str, table: str) -> list[Any]:
    name = f"{warehouse.quote(schema)}.{warehouse.quote(table)}"
    newest, rows = warehouse.query(f"select max({LOAD_ID_COLUMN}), count(*) from {name}")[0]
    return [str(newest) if newest is not None else None, int(rows)]


def newest_loads(warehouse: Warehouse) -> dict[str, Any]:
    """``{schema: {"last_load": id}}`` for every schema with a ``_dlt_loads`` table."""
    schemas = warehouse.query("select distinct lower(table_schema) from information_schema.tables "
                              "where lower(table_name) = ?", (LOADS_TABLE,))
    return {str(schema): {"last_load": _last_load(warehouse, str(schema))} for (schema,) in sorted(schemas)}


def _last_load(warehouse: Warehouse, schema: str) -> str | None:
    quoted = f"{warehouse.quote(schema)}.{warehouse.quote(LOADS_TABLE)}"
    newest = warehouse.query(f"select max(load_id) from {quoted} where status = 0")[0][0]
    return str(newest) if newest is not None else None


def check_dlt(warehouse: Warehouse | None, sources: Iterable[Source],
              previous: Mapping[str, Any] | None) -> DltCheck:
    """Compare dlt's loads now with ``previous`` (the good run's snapshot; ``None`` when it has none)."""
    check = DltCheck()
    if warehouse is None:
        return check
    by_schema: dict[str, list[Source]] = {}
    for source in sources:
        by_schema.setdefault(source.schema.lower(), []).append(source)
    for schema, members in sorted(by_schema.items()):
        dlt_tables = _dlt_columns(warehouse, schema)
        if dlt_tables is None:
            continue
        last_load = _last_load(warehouse, schema)
        before = (previous or {}).get(schema) or {}
        schema_only = "tables" not in before  # recorded by a full build: the newest load id only
        known: dict[str, Any] = dict(before.get("tables") or {}) if before.get("last_load") == last_load else {}
        tables: dict[str, Any] = {}
        for source in members:
            table = source.identifier.lower()
            check.checked.add(source.unique_id)
            if table not in dlt_tables:
                check.reasons[source.unique_id] = summary.cannot_check(
                    source.label, f"{schema}.{table} has no {LOAD_ID_COLUMN} column")
                continue
            tables[table] = known[table] if table in known else _table_state(warehouse, schema, table)
            if previous is None:
                check.reasons[source.unique_id] = summary.cannot_check(
                    source.label, "no dlt load ids recorded with the last good run")
            elif (before.get("last_load") != last_load if schema_only
                  else tables[table] != list((before.get("tables") or {}).get(table) or [])):
                check.reasons[source.unique_id] = summary.new_dlt_load(f"{schema}.{table}")
        check.snapshot[schema] = {"last_load": last_load, "tables": tables}
    return check
