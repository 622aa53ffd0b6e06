"""A short read-only connection from this process to the destination, for the decision's own queries (dlt's
load ids), so that a changed-only call can decide without starting dbt. DuckDB files and PostgreSQL only; for
other destinations :func:`connect` gives ``None`` and their dlt schemas count as not checkable."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from dbt_kickoff.core.call import Call
from dbt_kickoff.profiles import Profile

_ENV_REF = re.compile(r"\{\{\s*env_var\('([^']+)'\)(?:\s*\|\s*\w+)?\s*\}\}")


class Warehouse(Protocol):
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def quote(self, name: str) -> str: ...


class _DbApi:
    def __init__(self, connection: Any, placeholder: str) -> None:
        self.connection = connection
        self.placeholder = placeholder

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql.replace("?", self.placeholder), tuple(params))
            return list(cursor.fetchall())
        finally:
            cursor.close()

    @staticmethod
    def quote(name: str) -> str:
        return '"' + name.replace('"', '""') + '"'


def _value(output: Mapping[str, Any], secrets: Mapping[str, str], key: str) -> Any:
    value = output.get(key)
    if isinstance(value, str):
        match = _ENV_REF.fullmatch(value.strip())
        if match:
            return secrets.get(match.group(1))
    return value


@contextlib.contextmanager
def connect(profile: Profile | None) -> Iterator[Warehouse | None]:
    """A read-only connection for ``profile``'s destination, or ``None`` when this process cannot open one."""
    connection: Any = None
    warehouse: Warehouse | None = None
    if profile is not None and profile.adapter_type == "duckdb":
        path = str(profile.output.get("path") or "")
        if path and not path.startswith("md:") and path != ":memory:" and Path(path).is_file():
            import duckdb

            connection = duckdb.connect(path, read_only=True)
            warehouse = _DbApi(connection, "?")
    elif profile is not None and profile.adapter_type == "postgres":
        try:
            import psycopg2
        except ImportError:
            psycopg2 = None
        if psycopg2 is not None:
            output, secrets = profile.output, profile.secret_env
            ssl = {k: _value(output, secrets, k) for k in ("sslmode", "sslcert", "sslkey", "sslrootcert")}
            connection = psycopg2.connect(
                host=_value(output, secrets, "host"), port=_value(output, secrets, "port"),
                user=_value(output, secrets, "user"), password=_value(output, secrets, "password") or None,
                dbname=_value(output, secrets, "dbname") or _value(output, secrets, "database"),
                connect_timeout=10, **{k: v for k, v in ssl.items() if v},
            )
            connection.set_session(readonly=True, autocommit=True)
            warehouse = _DbApi(connection, "%s")
    try:
        yield warehouse
    finally:
        if connection is not None:
            connection.close()


def count_with_dbt(call: Call, relations: Mapping[str, str]) -> dict[str, int | None]:
    """unique_id -> rows of each relation, counted by dbt in one query (any adapter; what this process cannot
    connect to); the relations dbt could not count are left out."""
    parts = [f"select '{uid}' as node_id, count(*) as node_rows from {relation}"
             for uid, relation in relations.items() if "'" not in uid]
    rows = call.query(" union all ".join(parts)) if parts else None
    counts: dict[str, int | None] = {}
    for row in rows or ():
        try:
            counts[str(row["node_id"])] = int(row["node_rows"])
        except (KeyError, TypeError, ValueError):
            continue
    return counts
