"""Finding records across a records root: which stores it holds, and a listing of their records, newest first.

By default records go under ``<user state dir>/dbt-kickoff/records``, one store per package
(``<project>-<key>/``); ``records=`` may instead name one store (a folder or fsspec URL) or a folder of stores.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from dbt_kickoff.records.recorder import default_records_root
from dbt_kickoff.records.store import RECORD_NAME, REPORT_FILE, RecordStore, is_url

OUTCOME_FILTERS = ("ok", "failed")
"""``ok``: the call succeeded; ``failed``: anything else (dbt failures, errors, cancels, timeouts)."""


@dataclass(frozen=True)
class RecordEntry:
    """One line of a listing: a record and what its ``report.json`` says about the call."""

    name: str
    store: RecordStore
    started_at: datetime
    project: str | None
    call: str | None
    outcome: str | None
    """The call's outcome; ``"incomplete"`` for a record without a readable report.json."""
    duration: float | None
    nodes: int

    @property
    def uri(self) -> str:
        return self.store.uri(self.name)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "uri": self.uri, "started_at": self.started_at.isoformat(),
                "project": self.project, "call": self.call, "outcome": self.outcome, "duration": self.duration,
                "nodes": self.nodes}


def started_at(name: str) -> datetime:
    """The UTC start a record's name begins with (``20261201T120000123456Z-…``)."""
    stamp = name.split("Z-", 1)[0]
    return datetime.strptime(stamp.ljust(21, "0")[:21], "%Y%m%dT%H%M%S%f").replace(tzinfo=timezone.utc)


def stores_under(records: str | Path | None = None,
                 storage_options: Mapping[str, Any] | None = None) -> list[RecordStore]:
    """The stores at ``records`` (default: the default records root): the location itself when it is a store
    (it holds records or refs, or is remote), else each folder under it."""
    location = default_records_root() if records is None else records
    text = str(location)
    if is_url(text):
        return [RecordStore(text, storage_options)]
    root = Path(text.removeprefix("file://")).expanduser()
    if not root.is_dir():
        return []
    if (root / "refs").is_dir() or any(RECORD_NAME.match(p.name) for p in root.iterdir()):
        return [RecordStore(root)]
    return [RecordStore(path) for path in sorted(root.iterdir()) if path.is_dir() and not path.name.startswith(".")]


def _entry(store: RecordStore, name: str) -> RecordEntry:
    try:
        data = json.loads(store.read_bytes(name, REPORT_FILE))
    except (FileNotFoundError, ValueError):
        data = None
    if not isinstance(data, dict):
        return RecordEntry(name=name, store=store, started_at=started_at(name), project=None, call=None,
                           outcome="incomplete", duration=None, nodes=0)
    package = data.get("package") or {}
    return RecordEntry(
        name=name, store=store, started_at=started_at(name), project=package.get("project_name"),
        call=data.get("call"), outcome=data.get("outcome"), duration=data.get("duration"),
        nodes=sum(len(step.get("results") or ()) for step in data.get("steps") or ()),
    )


def _matches(entry: RecordEntry, project: str | None, outcome: str | None) -> bool:
    if project is not None and entry.project != project:
        return False
    if outcome == "ok":
        return entry.outcome == "success"
    if outcome == "failed":
        return entry.outcome not in ("success", "incomplete")
    return True


def iter_records(records: str | Path | None = None, storage_options: Mapping[str, Any] | None = None, *,
                 project: str | None = None, outcome: str | None = None) -> Iterator[RecordEntry]:
    """Every record under ``records`` (see :func:`stores_under`), newest first, read one at a time;
    ``project`` keeps one dbt project's records, ``outcome`` (``"ok"``/``"failed"``) one kind of end."""
    names = [(name, store) for store in stores_under(records, storage_options) for name in store.names()]
    for name, store in sorted(names, key=lambda item: item[0], reverse=True):
        entry = _entry(store, name)
        if _matches(entry, project, outcome):
            yield entry


def list_records(records: str | Path | None = None, storage_options: Mapping[str, Any] | None = None, *,
                 project: str | None = None, outcome: str | None = None,
                 limit: int | None = 20) -> list[RecordEntry]:
    """The newest ``limit`` records under ``records`` (``None``: all), filtered as in :func:`iter_records`."""
    found: list[RecordEntry] = []
    for entry in iter_records(records, storage_options, project=project, outcome=outcome):
        if limit is not None and len(found) >= limit:
            break
        found.append(entry)
    return found


def find_record(name: str, records: str | Path | None = None,
                storage_options: Mapping[str, Any] | None = None) -> RecordStore | None:
    """The store under ``records`` that holds the record ``name``, or ``None``."""
    for store in stores_under(records, storage_options):
        if name in store.names():
            return store
    return None
