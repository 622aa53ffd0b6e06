"""The registry of supported destinations: one small module per adapter family."""

from __future__ import annotations

import difflib

from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.profiles.adapters.athena import ATHENA
from dbt_kickoff.profiles.adapters.base import Adapter
from dbt_kickoff.profiles.adapters.bigquery import BIGQUERY
from dbt_kickoff.profiles.adapters.clickhouse import CLICKHOUSE
from dbt_kickoff.profiles.adapters.databricks import DATABRICKS
from dbt_kickoff.profiles.adapters.duckdb import DUCKDB, MOTHERDUCK
from dbt_kickoff.profiles.adapters.postgres import POSTGRES, REDSHIFT
from dbt_kickoff.profiles.adapters.snowflake import SNOWFLAKE
from dbt_kickoff.profiles.adapters.sqlserver import MSSQL
from dbt_kickoff.profiles.adapters.trino import TRINO

ADAPTERS: tuple[Adapter, ...] = (
    DUCKDB, MOTHERDUCK, POSTGRES, REDSHIFT, SNOWFLAKE, BIGQUERY, DATABRICKS, MSSQL, ATHENA, CLICKHOUSE, TRINO,
)

_BY_NAME = {name: a for a in ADAPTERS for name in (a.name, *a.aliases)}
_BY_SCHEME = {scheme: a for a in ADAPTERS for scheme in a.schemes}


def supported_types() -> list[str]:
    return sorted(_BY_NAME)


def supported_schemes() -> list[str]:
    return sorted(_BY_SCHEME)


def adapter_for_type(destination_type: str) -> Adapter:
    """The adapter for a destination type name (case-insensitive; dlt's ``dlt.destinations.X`` accepted)."""
    name = str(destination_type).strip().lower().removeprefix("dlt.destinations.")
    adapter = _BY_NAME.get(name)
    if adapter is None:
        raise ConfigurationError(
            f"unknown destination type {destination_type!r}; supported: {', '.join(supported_types())}"
        )
    return adapter


def adapter_for_scheme(scheme: str, redacted_url: str) -> Adapter:
    adapter = _BY_SCHEME.get(scheme.lower())
    if adapter is None:
        close = difflib.get_close_matches(scheme.lower(), supported_schemes(), n=1, cutoff=0.6)
        hint = f"did you mean {close[0] + ':'!r}? " if close else ""
        raise ConfigurationError(
            f"unknown URL scheme {scheme + ':'!r} in destination {redacted_url}; {hint}supported schemes: "
            f"{', '.join(supported_schemes())}"
        )
    return adapter
