"""Do two warehouses hold the same models? Every relation outside the loaders' schemas is compared: it exists
on both sides, it is of the same kind (table or view), and its rows are the same (``EXCEPT ALL`` both ways, so
duplicates count).

DuckDB: two files attached to one connection, compared in SQL. PostgreSQL: two databases of one server (no
query spans two databases), each relation's rows read from both and compared as multisets, which is what
``EXCEPT ALL`` both ways computes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

Relations = dict[str, str]
"""``"schema.name"`` -> kind (``table`` or ``view``)."""

_KINDS = {"BASE TABLE": "table", "VIEW": "view"}
_RELATIONS_SQL = ("select table_schema, table_name, table_type from information_schema.tables "
                  "where table_schema not in ('information_schema', 'pg_catalog')")


def _kinds(rows: list[tuple[Any, ...]], skip_schemas: Collection[str]) -> Relations:
    return {f"{schema}.{name}": _KINDS.get(kind, kind) for schema, name, kind in rows
            if schema not in skip_schemas and not schema.startswith("pg_")}


def _compare(left: Relations, right: Relations, rows_differ: Callable[[str], str | None]) -> dict[str, str]:
    found: dict[str, str] = {}
    for name in sorted(left.keys() ^ right.keys()):
        found[name] = "only in the build under test" if name in left else "missing in the build under test"
    for name in sorted(left.keys() & right.keys()):
        if left[name] != right[name]:
            found[name] = f"a {left[name]} where a full build makes a {right[name]}"
            continue
        why = rows_differ(name)
        if why:
            found[name] = why
    return found


def duckdb_differences(tested: Path, reference: Path, skip_schemas: Collection[str]) -> dict[str, str]:
    """``{"schema.name": why}`` for each relation of ``tested`` that differs from ``reference`` (a full build);
    ``{}`` when they are the same. The files need different names (DuckDB names a file's catalog after it, and
    views refer to that catalog)."""
    import duckdb

    if tested.stem == reference.stem:
        raise ValueError(f"{tested} and {reference} would both be attached as {tested.stem!r}")
    con = duckdb.connect()
    try:
        relations = []
        for path in (tested, reference):
            con.execute(f"attach '{path}' as \"{path.stem}\" (read_only)")
            rows = con.execute(f"{_RELATIONS_SQL} and table_catalog = ?", [path.stem]).fetchall()
            relations.append(_kinds(rows, skip_schemas))

        def rows_differ(name: str) -> str | None:
            schema, table = name.split(".", 1)
            a, b = (f'"{path.stem}"."{schema}"."{table}"' for path in (tested, reference))
            try:
                only = [con.execute(f"select count(*) from (select * from {x} except all select * from {y})")
                        .fetchone()[0] for x, y in ((a, b), (b, a))]  # type: ignore[index]
            except duckdb.Error as error:  # different columns or types
                return f"cannot compare: {str(error).splitlines()[0]}"
            return f"{only[0]} rows only here, {only[1]} only in the full build" if any(only) else None

        return _compare(relations[0], relations[1], rows_differ)
    finally:
        con.close()


def postgres_differences(tested: Mapping[str, Any], reference: Mapping[str, Any],
                         skip_schemas: Collection[str]) -> dict[str, str]:
    """The same for two PostgreSQL databases (``tested``/``reference``: host, port, user, password, dbname)."""
    import psycopg2

    connections = [psycopg2.connect(**{k: v for k, v in c.items() if k != "type"}) for c in (tested, reference)]
    try:
        def query(index: int, sql: str) -> list[tuple[Any, ...]]:
            with connections[index].cursor() as cur:
                cur.execute(sql)
                return list(cur.fetchall())

        relations = [_kinds(query(i, _RELATIONS_SQL), skip_schemas) for i in (0, 1)]

        def rows_differ(name: str) -> str | None:
            schema, table = name.split(".", 1)
            sql = f'select * from "{schema}"."{table}"'
            try:
                a, b = Counter(query(0, sql)), Counter(query(1, sql))
            except psycopg2.Error as error:
                for con in connections:
                    con.rollback()
                return f"cannot compare: {str(error).splitlines()[0]}"
            only = (sum((a - b).values()), sum((b - a).values()))
            return f"{only[0]} rows only here, {only[1]} only in the full build" if any(only) else None

        return _compare(relations[0], relations[1], rows_differ)
    finally:
        for con in connections:
            con.close()
