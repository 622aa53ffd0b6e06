"""One warm-state entry as one object: a gzipped tar whose first member is ``warm.json`` (what the entry is:
its kind, key, the project folder it was made in...), then the files.

One object per entry makes publishing atomic on every store (a local rename, a single PUT) and lets two workers
publish the same key at once: the last one wins, and each object is whole. Reading checks everything before a
byte reaches the project: gzip's checksum, the tar structure, member names (relative, no ``..``, regular files
and folders only) and the meta data.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

META = "warm.json"
FORMAT = 1
COMPRESSION = 3
"""gzip level: partial_parse.msgpack of a 1,000-model project shrinks ~6x at level 3, in a fraction of level 9's
time."""


class UnusableEntry(Exception):
    """A stored entry that cannot be used (damaged, of another format, kind or key): ``str()`` says why."""


def pack(meta: Mapping[str, Any], files: Mapping[str, bytes] | None = None,
         trees: Mapping[str, Path] | None = None) -> bytes:
    """The entry: ``warm.json`` (``meta`` with the format), then ``files`` (name -> content), then each folder of
    ``trees`` (name in the entry -> folder) with its files and folders."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=COMPRESSION, format=tarfile.PAX_FORMAT) as tar:
        _add_bytes(tar, META, json.dumps({**meta, "format": FORMAT}, sort_keys=True).encode())
        for name, content in (files or {}).items():
            _add_bytes(tar, name, content)
        for name, folder in (trees or {}).items():
            for path in _tree(folder):
                tar.add(str(path), arcname=f"{name}/{path.relative_to(folder).as_posix()}".rstrip("/"),
                        recursive=False, filter=_plain)
    return buffer.getvalue()


def _add_bytes(tar: tarfile.TarFile, name: str, content: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(content)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(content))


def _plain(info: tarfile.TarInfo) -> tarfile.TarInfo:
    """No owner names, ids or times of the machine that packed it."""
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = 0
    return info


def _tree(folder: Path) -> Iterable[Path]:
    """Every folder and file below ``folder``, sorted (``.git`` folders left out: dbt never reads them, and a
    clone's remote may hold a token)."""
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d != ".git")
        base = Path(root)
        if base != folder:
            yield base
        for name in sorted(files):
            yield base / name


def symlinks_in(folder: Path) -> list[Path]:
    """Symbolic links below ``folder`` (an entry keeps regular files only, so a tree with links is not packed)."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if d != ".git"]
        found += [Path(root) / n for n in [*dirs, *files] if (Path(root) / n).is_symlink()]
    return found


class Bundle:
    """A stored entry, read and checked whole (see the module docstring)."""

    def __init__(self, data: bytes, *, kind: str, key: str) -> None:
        try:  # the whole stream first: gzip's checksum and length are checked only at its end
            with tarfile.open(fileobj=io.BytesIO(gzip.decompress(data)), mode="r:") as tar:
                members = tar.getmembers()
                self._files = {m.name: _read(tar, m) for m in members if m.isfile()}
                self.folders = [m.name for m in members if m.isdir()]
        except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
            raise UnusableEntry(f"damaged ({type(exc).__name__}: {exc})") from None
        for member in members:
            if not (member.isfile() or member.isdir()) or not _safe(member.name):
                raise UnusableEntry(f"holds {member.name!r}, which is not a plain file below the entry")
        try:
            meta = json.loads(self._files.pop(META))
        except (KeyError, ValueError):
            raise UnusableEntry(f"no readable {META}") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise UnusableEntry(f"of another format ({meta.get('format') if isinstance(meta, dict) else meta!r})")
        if meta.get("kind") != kind or meta.get("key") != key:
            raise UnusableEntry(f"made for another {kind} key ({meta.get('kind')} {meta.get('key')})")
        self.meta: dict[str, Any] = meta

    @property
    def names(self) -> list[str]:
        return sorted(self._files)

    def read(self, name: str) -> bytes:
        try:
            return self._files[name]
        except KeyError:
            raise UnusableEntry(f"no {name}") from None

    def extract(self, prefix: str, destination: Path) -> int:
        """Write the folders and files below ``prefix/`` into ``destination`` (created); return how many files."""
        destination.mkdir(parents=True, exist_ok=True)
        start = len(prefix) + 1
        for folder in self.folders:
            if folder.startswith(prefix + "/"):
                (destination / folder[start:]).mkdir(parents=True, exist_ok=True)
        written = 0
        for name, content in self._files.items():
            if name.startswith(prefix + "/"):
                path = destination / name[start:]
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content)
                written += 1
        return written


def _read(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    handle = tar.extractfile(member)
    if handle is None:
        raise UnusableEntry(f"{member.name} cannot be read")
    return handle.read()


def _safe(name: str) -> bool:
    path = PurePosixPath(name)
    return not path.is_absolute() and ".." not in path.parts and bool(path.parts)
