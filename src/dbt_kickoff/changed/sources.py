"""Which sources can tell whether they received data, and which did since the good run (by freshness)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dbt_kickoff.changed import summary
from dbt_kickoff.results import parse_timestamp

FRESHNESS_OK = frozenset({"pass", "warn", "error"})
"""sources.json statuses that carry a ``max_loaded_at`` (``error`` = stale past ``error_after``, still measured)."""


@dataclass(frozen=True)
class Source:
    unique_id: str
    source_name: str
    name: str
    schema: str
    identifier: str
    has_freshness: bool
    """``dbt source freshness`` measures it: a freshness threshold and a ``loaded_at_field``/query."""
    relation_name: str | None = None
    """dbt's quoted ``database.schema.table`` (the manifest's ``relation_name``)."""
    loaded_at_field: str | None = None
    loaded_at_query: str | None = None
    freshness_filter: str | None = None

    @property
    def label(self) -> str:
        return f"{self.source_name}.{self.name}"

    @property
    def selector(self) -> str:
        return f"source:{self.source_name}.{self.name}+"


def _has_threshold(freshness: Any) -> bool:
    if not isinstance(freshness, Mapping):
        return False
    return any(isinstance(freshness.get(k), Mapping) and freshness[k].get("count") for k in ("warn_after",
                                                                                              "error_after"))


def source_from(data: Mapping[str, Any]) -> Source:
    """A source from a manifest entry or from the runner's ``sources()``."""
    measured = bool(data.get("loaded_at_field") or data.get("loaded_at_query"))
    freshness = data.get("freshness")
    return Source(unique_id=str(data["unique_id"]), source_name=str(data["source_name"]), name=str(data["name"]),
                  schema=str(data.get("schema") or ""), identifier=str(data.get("identifier") or data["name"]),
                  has_freshness=measured and _has_threshold(freshness),
                  relation_name=data.get("relation_name") or None, loaded_at_field=data.get("loaded_at_field") or None,
                  loaded_at_query=data.get("loaded_at_query") or None,
                  freshness_filter=(freshness.get("filter") if isinstance(freshness, Mapping) else None) or None)


def sources_of_manifest(manifest: Mapping[str, Any]) -> list[Source]:
    return [source_from(node) for node in (manifest.get("sources") or {}).values()]


LoadedAt = Mapping[str, datetime | None]
"""unique_id -> a source's newest ``loaded_at`` (aware, UTC); ``None`` when it could not be measured."""


def loaded_at_in(document: Mapping[str, Any] | None) -> dict[str, datetime | None]:
    """What a ``sources.json`` (``dbt source freshness``) measured."""
    if not document:
        return {}
    return {entry["unique_id"]: parse_timestamp(entry.get("max_loaded_at")) if entry.get("status") in FRESHNESS_OK
            else None for entry in document.get("results") or () if entry.get("unique_id")}


def freshness_reasons(sources: Iterable[Source], previous: LoadedAt | None, current: LoadedAt) -> dict[str, str]:
    """unique_id -> reason for each measured source that must be rebuilt downstream: fresher than recorded
    (dbt's ``source_status:fresher`` rule) or older (rows deleted), or not measurable now or then (built:
    correctness first, where dbt's selector would leave it out). ``previous`` is ``None`` when the good run
    recorded no freshness."""
    reasons: dict[str, str] = {}
    for source in sources:
        uid = source.unique_id
        latest, then = current.get(uid), (previous or {}).get(uid)
        if latest is None:
            reasons[uid] = summary.cannot_check(source.label, "its freshness query failed")
        elif previous is None:
            reasons[uid] = summary.cannot_check(source.label, "no freshness recorded with the last good run")
        elif then is None or latest > then:  # new or unmeasured then; or fresher
            reasons[uid] = summary.fresher(source.label)
        elif latest < then:  # rows deleted or replaced by older ones: dbt's fresher rule would miss it
            reasons[uid] = summary.went_back(source.label)
    return reasons


def row_count_reasons(sources: Iterable[Source], previous: Mapping[str, int | None] | None,
                      current: Mapping[str, int | None]) -> dict[str, str]:
    """unique_id -> reason for each source whose row count changed since the good run (rows deleted, or added
    with an older ``loaded_at``), could not be counted, or was not recorded then."""
    reasons: dict[str, str] = {}
    for source in sources:
        uid = source.unique_id
        rows, then = current.get(uid), (previous or {}).get(uid)
        if rows is None:
            reasons[uid] = summary.cannot_check(source.label, "its rows could not be counted")
        elif previous is None or uid not in previous:
            reasons[uid] = summary.cannot_check(source.label, "no row count recorded with the last good run")
        elif then != rows:
            reasons[uid] = summary.rows_changed(source.label, then, rows)
    return reasons
