"""Where run records live: a local folder, or any fsspec URL (``s3://``, ``gs://``, ``az://``, ``file://``).

Layout under the store's root::

    <UTC start>-<record id>/        one folder per invocation; ``report.json`` is written last
    refs/<key>                      a small text file naming a record (the last one, the last good one...)
    warm/...                        warm state (:mod:`dbt_kickoff.warm`), written with :meth:`RecordStore.write_file`

A local record is written into a hidden ``.partial-<name>`` folder and renamed into place, so a record folder
either has its ``report.json`` or is not there at all; a remote one gets ``report.json`` after every other file.
Before a call's first dbt command, its ``started.json`` is written into that folder (local: the hidden one): a call
killed at any moment leaves it behind, without a ``report.json`` (:meth:`RecordStore.unfinished`).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from dbt_kickoff.atomic import write_atomically
from dbt_kickoff.errors import ConfigurationError

RECORD_NAME = re.compile(r"^\d{8}T\d{6,12}Z-[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}$")
REPORT_FILE = "report.json"
STARTED_FILE = "started.json"


@dataclass(frozen=True)
class StoredFile:
    """A file of the store outside the records: its path below the root, size in bytes and when it was written
    (a UNIX time; 0 when the back end does not tell)."""

    path: str
    size: int
    modified: float


def is_url(location: str) -> bool:
    return "://" in location and not location.startswith("file://")


class RecordStore:
    """A folder of run records, local or remote (fsspec; its back end is an optional extra)."""

    def __init__(self, location: str | Path, storage_options: Mapping[str, Any] | None = None) -> None:
        text = str(location)
        self.location = text
        self._local: Path | None = None
        self._fs: Any = None
        if text.startswith("file://"):
            self._local = Path(text[len("file://"):])
        elif not is_url(text):
            self._local = Path(text).expanduser()
        else:
            try:
                import fsspec
            except ImportError:
                raise ConfigurationError(
                    f"records={text!r} needs fsspec and its back end: pip install 'dbt-kickoff[records-s3]' "
                    "(or records-gcs, records-azure)"
                ) from None
            try:
                self._fs, self._root = fsspec.core.url_to_fs(text, **dict(storage_options or {}))
            except (ImportError, ValueError) as exc:
                raise ConfigurationError(
                    f"records={text!r}: {exc} (install the fsspec back end, e.g. pip install "
                    "'dbt-kickoff[records-s3]')"
                ) from None
            self._root = self._root.rstrip("/")

    @property
    def local_root(self) -> Path | None:
        """The folder of a local store, else ``None``."""
        return self._local

    def uri(self, name: str = "") -> str:
        if self._local is not None:
            return str(self._local / name) if name else str(self._local)
        protocol = self._fs.protocol if isinstance(self._fs.protocol, str) else self._fs.protocol[0]
        return f"{protocol}://{self._root}/{name}" if name else f"{protocol}://{self._root}"

    # -- records ------------------------------------------------------------------------------------------------
    def names(self) -> list[str]:
        """Every complete or half-written record name, oldest first (names start with their UTC start)."""
        if self._local is not None:
            if not self._local.is_dir():
                return []
            entries = [p.name for p in self._local.iterdir() if p.is_dir()]
        else:
            try:
                entries = [p.rstrip("/").rsplit("/", 1)[-1] for p in self._fs.ls(self._root, detail=False)]
            except FileNotFoundError:
                return []
        return sorted(name for name in entries if RECORD_NAME.match(name))

    def staging_dir(self, name: str) -> Path:
        """Where a local record is assembled: a hidden folder of the store, renamed into place by :meth:`publish`."""
        if self._local is None:
            raise ValueError("a remote store assembles records in a temporary folder")
        self._local.mkdir(parents=True, exist_ok=True)
        path = self._local / f".partial-{name}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def publish(self, staging: Path, name: str) -> str:
        """Move the assembled record into the store (``report.json`` last) and return its URI."""
        if self._local is not None:
            staging.rename(self._local / name)
            return self.uri(name)
        target = f"{self._root}/{name}"
        report = staging / REPORT_FILE
        for path in sorted(staging.rglob("*")):
            if path.is_file() and path != report:
                self._fs.put_file(str(path), f"{target}/{path.relative_to(staging).as_posix()}")
        self._fs.put_file(str(report), f"{target}/{REPORT_FILE}")
        return self.uri(name)

    def mark_started(self, name: str, content: bytes) -> None:
        """Write the record's ``started.json`` now (before dbt starts), so a call killed later is seen."""
        if self._local is not None:
            write_atomically(self.staging_dir(name) / STARTED_FILE, content)  # a killed process leaves it
        else:
            self._fs.pipe_file(f"{self._root}/{name}/{STARTED_FILE}", content)

    def unmark_started(self, name: str) -> None:
        """The call ended without a record (it ran nothing worth one): its marker goes."""
        if self._local is not None:
            shutil.rmtree(self._local / f".partial-{name}", ignore_errors=True)
        else:
            self._fs.rm(f"{self._root}/{name}", recursive=True)

    def unfinished(self) -> dict[str, bytes | None]:
        """Calls that started dbt but left no ``report.json`` (killed, or still running elsewhere): name -> their
        ``started.json`` (``None`` when unreadable)."""
        found: dict[str, bytes | None] = {}
        if self._local is not None:
            if not self._local.is_dir():
                return found
            for path in self._local.glob(".partial-*"):
                name = path.name.removeprefix(".partial-")
                if RECORD_NAME.match(name) and path.is_dir():
                    found[name] = _read_or_none(path / STARTED_FILE)
            return found
        for name in self.names():
            if not self._fs.exists(f"{self._root}/{name}/{REPORT_FILE}"):
                try:
                    found[name] = self.read_bytes(name, STARTED_FILE)
                except (FileNotFoundError, OSError):
                    found[name] = None
        return found

    def delete(self, name: str) -> None:
        if self._local is not None:
            shutil.rmtree(self._local / name, ignore_errors=True)
        else:
            self._fs.rm(f"{self._root}/{name}", recursive=True)

    def read_bytes(self, name: str, file: str) -> bytes:
        """A file of a record; ``FileNotFoundError`` when it is not there."""
        if self._local is not None:
            return (self._local / name / file).read_bytes()
        with self._fs.open(f"{self._root}/{name}/{file}", "rb") as handle:
            return bytes(handle.read())

    def files(self, name: str) -> list[str]:
        """The files of a record, relative to it."""
        if self._local is not None:
            folder = self._local / name
            return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
        prefix = f"{self._root}/{name}/"
        return sorted(p[len(prefix):] for p in self._fs.find(prefix))

    def download(self, name: str, destination: Path, prefix: str = "") -> Path:
        """Copy a record's files (those under ``prefix``) into ``destination``; return that folder."""
        destination.mkdir(parents=True, exist_ok=True)
        for file in self.files(name):
            if file.startswith(prefix):
                target = destination / file[len(prefix):].lstrip("/")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(self.read_bytes(name, file))
        return destination

    # -- flags --------------------------------------------------------------------------------------------------
    def set_flag(self, key: str) -> None:
        """Leave ``flags/<key>`` in the store (a fact about the store's packages, e.g. changed-only calls ran)."""
        if self._local is not None:
            write_atomically(self._local / "flags" / key, b"", private=False)
        else:
            self._fs.pipe_file(f"{self._root}/flags/{key}", b"")

    def has_flag(self, key: str) -> bool:
        if self._local is not None:
            return (self._local / "flags" / key).is_file()
        return bool(self._fs.exists(f"{self._root}/flags/{key}"))

    # -- refs ---------------------------------------------------------------------------------------------------
    def write_ref(self, key: str, name: str) -> None:
        """Point ``refs/<key>`` at a record (atomic: a local rename, a single object PUT)."""
        if self._local is not None:
            write_atomically(self._local / "refs" / key, name, private=False)  # a hidden temporary file: not a ref
        else:
            self._fs.pipe_file(f"{self._root}/refs/{key}", name.encode())

    def read_ref(self, key: str) -> str | None:
        try:
            if self._local is not None:
                name = (self._local / "refs" / key).read_text(encoding="utf-8").strip()
            else:
                name = self._fs.cat_file(f"{self._root}/refs/{key}").decode().strip()
        except (FileNotFoundError, OSError):
            return None
        return name if RECORD_NAME.match(name) else None

    def refs(self) -> dict[str, str]:
        """Every ref and the record it names."""
        if self._local is not None:
            folder = self._local / "refs"
            keys = [p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")] \
                if folder.is_dir() else []
        else:
            try:
                keys = [p.rsplit("/", 1)[-1] for p in self._fs.ls(f"{self._root}/refs", detail=False)]
            except FileNotFoundError:
                keys = []
        found = {key: self.read_ref(key) for key in keys}
        return {key: name for key, name in found.items() if name}

    # -- other files (warm state) -------------------------------------------------------------------------------
    def write_file(self, path: str, data: bytes) -> None:
        """Write the file at ``path`` (below the root) whole: readers see the old content or the new, never a
        part (a local rename, a single object PUT); two writers of one path leave one of their files."""
        if self._local is not None:
            write_atomically(self._local / path, data, private=False)
        else:
            self._fs.pipe_file(f"{self._root}/{path}", data)

    def read_file(self, path: str) -> bytes | None:
        """The file at ``path`` (below the root), or ``None`` when there is none."""
        try:
            if self._local is not None:
                return (self._local / path).read_bytes()
            return bytes(self._fs.cat_file(f"{self._root}/{path}"))
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

    def list_files(self, prefix: str) -> list[StoredFile]:
        """The files below the folder ``prefix`` (hidden temporary files left out), by path."""
        if self._local is not None:
            folder = self._local / prefix
            if not folder.is_dir():
                return []
            found = [StoredFile(p.relative_to(self._local).as_posix(), (st := p.stat()).st_size, st.st_mtime)
                     for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")]
        else:
            try:
                listed = self._fs.find(f"{self._root}/{prefix}", detail=True)
            except FileNotFoundError:
                listed = {}
            start = len(self._root) + 1
            found = [StoredFile(path[start:], int(info.get("size") or 0), _modified(info))
                     for path, info in listed.items() if info.get("type", "file") == "file"]
        return sorted(found, key=lambda f: f.path)

    def delete_file(self, path: str) -> None:
        """Remove the file at ``path`` (below the root); nothing when it is not there."""
        try:
            if self._local is not None:
                (self._local / path).unlink()
            else:
                self._fs.rm_file(f"{self._root}/{path}")
        except FileNotFoundError:
            pass


def _modified(info: Mapping[str, Any]) -> float:
    """When an fsspec back end says a file was written (S3, GCS and Azure name it differently)."""
    for key in ("LastModified", "mtime", "last_modified", "updated", "created"):
        value = info.get(key)
        if isinstance(value, datetime):
            return value.timestamp()
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
            except ValueError:
                continue
    return 0.0


def _read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None
