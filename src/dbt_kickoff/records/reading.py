"""Finding and reading records: ``latest``, a record folder or URL, a name inside a store, the last good run."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.records.catalog import find_record, stores_under
from dbt_kickoff.records.identity import LATEST_REF, RecordIdentity, last_ref, last_success_ref
from dbt_kickoff.records.recorder import default_records_root
from dbt_kickoff.records.store import RECORD_NAME, REPORT_FILE, RecordStore, is_url
from dbt_kickoff.reports import RunReport


class RecordNotFound(ConfigurationError):
    """No record where one was asked for."""


class RecordIncomplete(ConfigurationError):
    """A record folder without a readable ``report.json`` (its run is still writing it, or it was cut short)."""


@dataclass
class Record:
    """One run record: its name, its store and its ``report.json``."""

    name: str
    store: RecordStore
    data: dict[str, Any]

    @property
    def uri(self) -> str:
        return self.store.uri(self.name)

    @property
    def report(self) -> RunReport:
        return RunReport.from_dict(self.data)

    @property
    def identity(self) -> RecordIdentity:
        return RecordIdentity.from_dict(self.data.get("identity") or {})

    @property
    def outcome(self) -> str | None:
        return self.data.get("outcome")

    def json(self, file: str) -> dict[str, Any] | None:
        """A JSON artifact of the record (``manifest.json``...), or ``None`` when the record has none."""
        try:
            return dict(json.loads(self.store.read_bytes(self.name, file)))
        except FileNotFoundError:
            return None

    def download(self, destination: Path, prefix: str = "") -> Path:
        """Copy the record's files (under ``prefix``, e.g. ``steps/02-run/``) into a local folder."""
        local = self.store.local_root
        if local is not None:
            return local / self.name / prefix
        return self.store.download(self.name, destination, prefix)


def load_record(store: RecordStore, name: str) -> Record:
    """Read a record; a clear error when it is missing or half-written."""
    try:
        raw = store.read_bytes(name, REPORT_FILE)
    except FileNotFoundError:
        if name in store.names() or _partial_exists(store, name):
            raise RecordIncomplete(
                f"the record {store.uri(name)} has no report.json: it is half-written (its run is still going, "
                "or was killed before the record was complete). Pick another record, e.g. 'latest'."
            ) from None
        raise RecordNotFound(f"there is no record {store.uri(name)}") from None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise RecordIncomplete(f"the record {store.uri(name)} has a broken report.json ({exc})") from None
    if not isinstance(data, dict) or "steps" not in data:
        raise RecordIncomplete(f"{store.uri(name)}/report.json is not a dbt-kickoff run report")
    return Record(name=name, store=store, data=data)


def _partial_exists(store: RecordStore, name: str) -> bool:
    root = store.local_root
    return root is not None and ((root / name).is_dir() or (root / f".partial-{name}").is_dir())


def open_record(spec: str | None = None, records: str | Path | None = None,
                storage_options: Mapping[str, Any] | None = None) -> Record:
    """The record ``spec`` names: ``None``/``"latest"`` (the newest in ``records``, or in any package folder
    of the default location), a record name (found in any store under ``records``, by default under the
    default records root), or the path/URL of a record folder."""
    if spec in (None, "", "latest"):
        return latest_record(records, storage_options)
    assert spec is not None
    if RECORD_NAME.match(spec) and (records is not None or not Path(spec).exists()):
        return _named_record(spec, records, storage_options)
    location = spec.rstrip("/")
    parent, _, name = location.rpartition("/")
    if not is_url(location):
        path = Path(location).expanduser()
        if not path.exists():
            raise RecordNotFound(f"there is no record at {spec}: give a record folder, 'latest', or a record "
                                 "name with --records")
        if (path / "refs").is_dir() or not RECORD_NAME.match(path.name):
            return latest_record(str(path), storage_options)  # a store, not a record
        parent, name = str(path.parent), path.name
    if not RECORD_NAME.match(name):
        return latest_record(location, storage_options)
    return load_record(RecordStore(parent, storage_options), name)


def _named_record(name: str, records: str | Path | None, storage_options: Mapping[str, Any] | None) -> Record:
    """A record by its name, in any store under ``records`` (default: the default records root)."""
    store = find_record(name, records, storage_options)
    if store is not None:
        return load_record(store, name)
    where = records if records is not None else default_records_root()
    raise RecordNotFound(f"there is no record {name} under {where}: 'dbt-kickoff records' lists them "
                         "(--records for another folder)")


def latest_record(records: str | Path | None = None, storage_options: Mapping[str, Any] | None = None) -> Record:
    """The newest record of a store; without one, the newest in any package folder of the default location
    (or of ``records``, when it is a folder of stores)."""
    stores = stores_under(records, storage_options)
    found: list[tuple[str, RecordStore]] = []
    for store in stores:
        names = store.names()
        name = store.read_ref(LATEST_REF) or (names[-1] if names else None)
        if name:
            found.append((name, store))
    if not found:
        where = records if records is not None else default_records_root()
        raise RecordNotFound(f"no run records in {where}: run dbt through dbt-kickoff first (records are on by "
                             "default), or pass --records")
    name, store = max(found, key=lambda item: item[0])
    return load_record(store, name)


def last_record(store: RecordStore, retry_key: str) -> Record | None:
    """The newest record of a package and target in ``store`` (any outcome; see ``RecordIdentity.retry_key``),
    or ``None``."""
    name = store.read_ref(last_ref(retry_key))
    return load_record(store, name) if name else None


def last_successful_record(store: RecordStore, identity: RecordIdentity) -> Record | None:
    """The newest successful record of the same package, target, vars and dbt version (dbt's ``--state``
    for changed-only builds), or ``None`` when there is none or it can no longer be read."""
    name = store.read_ref(last_success_ref(identity.state_key))
    if not name:
        return None
    try:
        return load_record(store, name)
    except ConfigurationError:
        return None
