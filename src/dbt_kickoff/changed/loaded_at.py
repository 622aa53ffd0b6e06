"""Source freshness measured by this process, without starting dbt: the query ``dbt source freshness`` runs
(``select max(<loaded_at_field>) from <relation> [where <filter>]``), sent over the decision's read-only
connection, and its value normalised to UTC as dbt does (a naive timestamp is taken as UTC).

Sources this cannot measure the way dbt would are left to ``dbt source freshness``: a ``loaded_at_query``,
Jinja in the field or filter, no relation name, or a query that fails here (an attached database, a missing
driver). As in dbt, a table without rows was loaded at ``0001-01-01 00:00 UTC``, and a field that is not a
timestamp cannot be measured (``None``: what is downstream is built).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timezone

from dbt_kickoff.changed.sources import Source
from dbt_kickoff.changed.warehouse import Warehouse

logger = logging.getLogger("dbt_kickoff.changed")

_JINJA = ("{{", "{%", "{#")
NEVER_LOADED = datetime(1, 1, 1, tzinfo=timezone.utc)
"""dbt's ``max_loaded_at`` for a table without rows."""


def measurable_here(source: Source) -> bool:
    """True when this process can send the same freshness query as dbt."""
    texts = (source.loaded_at_field or "", source.freshness_filter or "")
    return (source.has_freshness and not source.loaded_at_query and bool(source.loaded_at_field)
            and bool(source.relation_name) and not any(mark in text for text in texts for mark in _JINJA))


def freshness_sql(source: Source) -> str:
    where = f" where {source.freshness_filter}" if source.freshness_filter else ""
    return f"select max({source.loaded_at_field}) from {source.relation_name}{where}"


def as_utc(value: object) -> datetime | None:
    """dbt's rule for ``max_loaded_at``: aware -> UTC, naive -> taken as UTC, no rows -> :data:`NEVER_LOADED`;
    anything else is not a timestamp."""
    if value is None:
        return NEVER_LOADED
    if not isinstance(value, datetime):
        return None
    return value.astimezone(timezone.utc) if value.tzinfo else value.replace(tzinfo=timezone.utc)


def measure_loaded_at(warehouse: Warehouse | None, sources: Iterable[Source]) -> dict[str, datetime | None]:
    """unique_id -> newest ``loaded_at`` (UTC, or ``None``) for each source measured here; the sources left out
    are for ``dbt source freshness``."""
    measured: dict[str, datetime | None] = {}
    if warehouse is None:
        return measured
    for source in sources:
        if not measurable_here(source):
            continue
        try:
            rows = warehouse.query(freshness_sql(source))
        except Exception as exc:  # measured by dbt instead, with its own connection and macros
            logger.info("freshness of %s left to dbt: %s", source.label, type(exc).__name__)
            continue
        measured[source.unique_id] = as_utc(rows[0][0]) if rows else None
    return measured


def count_rows(warehouse: Warehouse | None, sources: Iterable[Source]) -> dict[str, int | None]:
    """unique_id -> rows in each source table (``None`` when it cannot be counted here): rows that arrive with
    a ``loaded_at`` older than the newest one, or are deleted, change the count but not the freshness."""
    counted: dict[str, int | None] = {}
    if warehouse is None:
        return counted
    for source in sources:
        if not source.relation_name:
            continue
        try:
            rows = warehouse.query(f"select count(*) from {source.relation_name}")
            counted[source.unique_id] = int(rows[0][0]) if rows else None
        except Exception as exc:  # built downstream: a count that cannot be read proves nothing
            logger.info("rows of %s could not be counted: %s", source.label, type(exc).__name__)
            counted[source.unique_id] = None
    return counted
