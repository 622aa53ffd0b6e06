"""Table equality for changed-only tests: every row of one table is in the other and back (``EXCEPT`` both ways).

Shared helper (the scale tests import it): :func:`duckdb_differences` compares tables of two schemas in one
DuckDB file or across two files; :func:`postgres_differences` two schemas of one PostgreSQL database.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import duckdb


def _pair_sql(left: str, right: str) -> str:
    return (f"select (select count(*) from (select * from {left} except all select * from {right}) as l) + "
            f"(select count(*) from (select * from {right} except all select * from {left}) as r)")


def duckdb_differences(database: Path, tables: Iterable[str], schema: str, full_schema: str,
                       full_database: Path | None = None) -> dict[str, int]:
    """``{table: rows that differ}`` between ``schema`` and ``full_schema`` (only tables that differ)."""
    differences: dict[str, int] = {}
    with duckdb.connect(str(database), read_only=True) as con:
        prefix = ""
        if full_database is not None:
            con.execute(f"attach '{full_database}' as full_db (read_only)")
            prefix = "full_db."
        for table in tables:
            pair = _pair_sql(f'"{schema}"."{table}"', f'{prefix}"{full_schema}"."{table}"')
            count = int(con.execute(pair).fetchone()[0])  # type: ignore[index]
            if count:
                differences[table] = count
    return differences


def postgres_differences(url: str, tables: Iterable[str], schema: str, full_schema: str) -> dict[str, int]:
    """``{table: rows that differ}`` between two schemas of one PostgreSQL database."""
    import psycopg2

    differences: dict[str, int] = {}
    with psycopg2.connect(url) as con, con.cursor() as cur:
        for table in tables:
            cur.execute(_pair_sql(f'"{schema}"."{table}"', f'"{full_schema}"."{table}"'))
            row = cur.fetchone()
            count = int(row[0]) if row else 0
            if count:
                differences[table] = count
    return differences
