"""Are two builds' tables the same? Every relation of one schema against its twin, rows compared with
``EXCEPT ALL`` both ways (so duplicates count), on DuckDB files or a PostgreSQL database.

A relation missing on one side, a query that fails (different columns) or rows only on one side make the
relation differ; the result maps each differing relation's name to why.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

Query = Callable[[str], list[tuple[Any, ...]]]


def duckdb_differences(left: Path, right: Path, schema: str) -> dict[str, str]:
    """Compare ``schema`` of the DuckDB file ``left`` with ``schema`` of ``right`` (both opened read-only;
    they must have different file names, as DuckDB names a file's catalog after it)."""
    import duckdb

    if left.stem == right.stem:
        raise ValueError(f"{left} and {right} have the same name: DuckDB would attach both as {left.stem!r}")
    con = duckdb.connect()
    try:
        for path in (left, right):
            con.execute(f"attach '{path}' as \"{path.stem}\" (read_only)")

        def names(catalog: str) -> set[str]:
            rows = con.execute(
                "select table_name from information_schema.tables where table_catalog = ? and table_schema = ?",
                [catalog, schema],
            ).fetchall()
            return {r[0] for r in rows}

        return _differences(
            lambda sql: con.execute(sql).fetchall(),
            (f'"{left.stem}"."{schema}"', names(left.stem)),
            (f'"{right.stem}"."{schema}"', names(right.stem)),
            rollback=lambda: None,
        )
    finally:
        con.close()


def postgres_differences(credentials: Mapping[str, Any], left_schema: str, right_schema: str) -> dict[str, str]:
    """Compare two schemas of one PostgreSQL database (``credentials``: host, port, user, password, dbname)."""
    import psycopg2

    con = psycopg2.connect(**{k: v for k, v in credentials.items() if k != "type"})
    try:
        cur = con.cursor()

        def query(sql: str) -> list[tuple[Any, ...]]:
            cur.execute(sql)
            return list(cur.fetchall())

        def names(schema: str) -> set[str]:
            cur.execute("select table_name from information_schema.tables where table_schema = %s", (schema,))
            return {r[0] for r in cur.fetchall()}

        return _differences(
            query,
            (f'"{left_schema}"', names(left_schema)),
            (f'"{right_schema}"', names(right_schema)),
            rollback=con.rollback,
        )
    finally:
        con.close()


def _differences(query: Query, left: tuple[str, set[str]], right: tuple[str, set[str]],
                 rollback: Callable[[], None]) -> dict[str, str]:
    (left_prefix, left_names), (right_prefix, right_names) = left, right
    found: dict[str, str] = {}
    for name in sorted(left_names ^ right_names):
        found[name] = "only on the left" if name in left_names else "only on the right"
    for name in sorted(left_names & right_names):
        a, b = f'{left_prefix}."{name}"', f'{right_prefix}."{name}"'
        try:
            only_left = query(f"select count(*) from (select * from {a} except all select * from {b}) as d")[0][0]
            only_right = query(f"select count(*) from (select * from {b} except all select * from {a}) as d")[0][0]
        except Exception as error:  # different columns or types: they differ, say how
            rollback()
            found[name] = f"cannot compare: {str(error).splitlines()[0]}"
            continue
        if only_left or only_right:
            found[name] = f"{only_left} rows only on the left, {only_right} only on the right"
    return found
