"""Where warm state lives: ``warm/`` in the run records store (a local folder or any fsspec URL).

Layout below the store's root::

    warm/parse/<parse-state key>.tar.gz                 dbt's partial_parse.msgpack, the last one published
    warm/manifest/<parse-state key>-<fingerprint>.json.gz   dbt's manifest.json for exactly these files
    warm/packages/<packages key>.tar.gz                 what dbt deps installed (dbt_packages/, package-lock.yml)

Every entry is one object, written whole (see :mod:`~dbt_kickoff.warm.bundle`). Retention keeps the newest
``keep_last`` entries of each kind, as the records' own ``keep_last`` does for records.
"""

from __future__ import annotations

from dataclasses import dataclass

from dbt_kickoff.records.store import RecordStore

ROOT = "warm"
KINDS = ("parse", "manifest", "packages")


@dataclass(frozen=True)
class WarmEntry:
    """One stored entry: its ``kind`` (parse, manifest, packages), ``path`` below the store's root, ``size`` in
    bytes and when it was written (``modified``, a UNIX time)."""

    kind: str
    path: str
    size: int
    modified: float

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


class WarmStore:
    """The warm-state part of a :class:`~dbt_kickoff.records.RecordStore`."""

    def __init__(self, records: RecordStore) -> None:
        self.records = records

    @staticmethod
    def parse_path(key: str) -> str:
        return f"{ROOT}/parse/{key}.tar.gz"

    @staticmethod
    def manifest_path(key: str, fingerprint: str) -> str:
        return f"{ROOT}/manifest/{key}-{fingerprint}.json.gz"

    @staticmethod
    def packages_path(key: str) -> str:
        return f"{ROOT}/packages/{key}.tar.gz"

    def uri(self, path: str) -> str:
        return self.records.uri(path)

    def read(self, path: str) -> bytes | None:
        return self.records.read_file(path)

    def write(self, path: str, data: bytes) -> None:
        self.records.write_file(path, data)

    def entries(self) -> list[WarmEntry]:
        """Every entry, by kind, newest first."""
        found = []
        for kind in KINDS:
            files = self.records.list_files(f"{ROOT}/{kind}")
            found += sorted((WarmEntry(kind, f.path, f.size, f.modified) for f in files),
                            key=lambda e: -e.modified)
        return found

    def prune(self, keep_last: int) -> list[str]:
        """Delete all but the newest ``keep_last`` entries of each kind; return the paths deleted."""
        doomed: list[str] = []
        seen: dict[str, int] = {}
        for entry in self.entries():
            seen[entry.kind] = seen.get(entry.kind, 0) + 1
            if seen[entry.kind] > keep_last:
                doomed.append(entry.path)
        for path in doomed:
            self.records.delete_file(path)
        return doomed

    def clear(self) -> list[str]:
        """Delete every entry; return the paths deleted."""
        paths = [entry.path for entry in self.entries()]
        for path in paths:
            self.records.delete_file(path)
        return paths
