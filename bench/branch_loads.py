"""The loads feeding a branched package (:func:`generate_package.generate_branched_package`).

Branches loaded by dlt get a real dlt pipeline per branch (dataset ``dlt_b<k>``, DuckDB or PostgreSQL
destination, append): every run leaves a new load id in ``_dlt_loads`` and in the rows' ``_dlt_load_id``.
The other branches get a plain loader: SQL inserts into ``raw_b<k>.<table>`` with a ``loaded_at`` timestamp
(UTC, the load's time), which the package's ``loaded_at_field`` reads. Row values depend only on the branch,
the table and the row id, so two warehouses loaded alike hold the same data (``loaded_at`` and dlt's own
columns aside, which no model reads).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

try:  # imported as ``bench.branch_loads`` (tests) or as a script's neighbour (bench/*.py)
    from bench.generate_package import FIX_SCHEMA, LABELS, Branch, BranchedPackage
except ImportError:  # pragma: no cover - the benchmarks put bench/ on sys.path
    from generate_package import FIX_SCHEMA, LABELS, Branch, BranchedPackage  # type: ignore[no-redef]

ROWS = 200
COLUMNS = ("id", "group_id", "amount", "label", "created_on")
DLT_COLUMNS: dict[str, dict[str, Any]] = {
    "id": {"data_type": "bigint", "nullable": False},
    "group_id": {"data_type": "bigint"},
    "amount": {"data_type": "double"},
    "label": {"data_type": "text"},
    "created_on": {"data_type": "date"},
}


@dataclass(frozen=True)
class Warehouse:
    """Where the loads go: a DuckDB file (``duckdb_path``) or a PostgreSQL database (``postgres``: host, port,
    user, password, dbname)."""

    duckdb_path: Path | None = None
    postgres: Mapping[str, Any] | None = None

    @contextlib.contextmanager
    def connect(self) -> Iterator[Any]:
        """A DB-API connection, committed and closed on exit."""
        if self.duckdb_path is not None:
            import duckdb

            con = duckdb.connect(str(self.duckdb_path))
        else:
            import psycopg2

            assert self.postgres is not None
            con = psycopg2.connect(**{k: v for k, v in self.postgres.items() if k != "type"})
        try:
            yield con
            con.commit()
        finally:
            con.close()

    def dlt_destination(self) -> Any:
        import dlt

        if self.duckdb_path is not None:
            return dlt.destinations.duckdb(str(self.duckdb_path))
        assert self.postgres is not None
        c = self.postgres
        url = (f"postgresql://{quote(str(c['user']), safe='')}:{quote(str(c['password']), safe='')}"
               f"@{c['host']}:{c['port']}/{c['dbname']}")
        return dlt.destinations.postgres(credentials=url)


def source_rows(branch: str, table: str, first_id: int, count: int) -> list[tuple[int, int, float, str, date]]:
    """Rows ``first_id`` .. ``first_id + count - 1`` of a source table (the same for every warehouse)."""
    salt = sum(ord(c) for c in branch + table)
    return [
        (i, (i * 7 + salt) % 10 + 1, ((i * 37 + salt * 13) % 99_999) / 100, LABELS[(i + salt) % len(LABELS)],
         date(2024, 2, 1 + (i + salt) % 28))
        for i in range(first_id, first_id + count)
    ]


def load_all(package: BranchedPackage, warehouse: Warehouse, pipelines_dir: Path, rows: int = ROWS) -> None:
    """The first load of every source table of every branch (rows 1 .. ``rows``)."""
    for branch in package.branches:
        load_rows(branch, warehouse, pipelines_dir, tables=branch.tables, first_id=1, count=rows)


def load_rows(branch: Branch, warehouse: Warehouse, pipelines_dir: Path, *, tables: Sequence[str],
              first_id: int, count: int) -> None:
    """Append rows ``first_id`` .. to ``tables`` of ``branch`` with its loader (one dlt run, or one
    transaction)."""
    if branch.loader == "dlt":
        _dlt_load(branch, warehouse, pipelines_dir, tables, first_id, count)
    else:
        _plain_load(branch, warehouse, tables, first_id, count)


def create_fix(warehouse: Warehouse) -> None:
    """Create ``raw_fix.factors``, the table the package's failing model waits for."""
    with warehouse.connect() as con:
        cur = con.cursor()
        cur.execute(f"create schema if not exists {FIX_SCHEMA}")
        cur.execute(f"create table {FIX_SCHEMA}.factors (group_id integer, factor double precision)")
        cur.execute(f"insert into {FIX_SCHEMA}.factors values (1, 1.5), (2, 0.5)")


def _plain_load(branch: Branch, warehouse: Warehouse, tables: Sequence[str], first_id: int, count: int) -> None:
    loaded_at = datetime.now(timezone.utc).replace(tzinfo=None).isoformat(sep=" ")
    with warehouse.connect() as con:
        cur = con.cursor()
        cur.execute(f"create schema if not exists {branch.schema}")
        for table in tables:
            relation = f"{branch.schema}.{table}"
            cur.execute(f"create table if not exists {relation} (id integer not null, group_id integer, "
                        "amount double precision, label varchar, created_on date, loaded_at timestamp)")
            values = ", ".join(
                f"({i}, {g}, {a!r}, '{label}', date '{day.isoformat()}', timestamp '{loaded_at}')"
                for i, g, a, label, day in source_rows(branch.name, table, first_id, count)
            )
            cur.execute(f"insert into {relation} ({', '.join(COLUMNS)}, loaded_at) values {values}")


def _dlt_load(branch: Branch, warehouse: Warehouse, pipelines_dir: Path, tables: Sequence[str],
              first_id: int, count: int) -> None:
    import dlt

    pipeline = dlt.pipeline(
        pipeline_name=f"bench_{branch.name}",
        destination=warehouse.dlt_destination(),
        dataset_name=branch.schema,
        pipelines_dir=str(pipelines_dir),
    )
    resources = [
        dlt.resource(
            [dict(zip(COLUMNS, row, strict=True)) for row in source_rows(branch.name, table, first_id, count)],
            name=table,
            write_disposition="append",
            columns=DLT_COLUMNS,
        )
        for table in tables
    ]
    pipeline.run(resources).raise_on_failed_jobs()
