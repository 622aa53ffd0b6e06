"""A DuckDB model that runs for hours unless it is cancelled (DuckDB answers ``count(*)`` over a plain ``range``
in seconds, so a slow model must do real work per row)."""

from __future__ import annotations


def slow_duckdb_model(depends_on: str | None = None) -> str:
    """The SQL of a table model that only ends when dbt cancels it; ``depends_on`` makes it run after that model."""
    after = f" where a.range >= (select count(*) - count(*) from {{{{ ref('{depends_on}') }}}})" if depends_on else ""
    return ("{{ config(materialized='table') }} select sum(hash(a.range + b.range)) as n "
            f"from range(1000000) a cross join range(1000000) b{after}")
