"""dbt's parse state between a call's target folder and the store: restore before dbt starts, publish after.

A small stamp beside dbt's files in the target folder (``.dbt-kickoff-warm.json``) says which key and files
they belong to: which parse state is there (so one of other vars or another dbt version is replaced by the
store's), whether ``manifest.json`` was written by dbt for exactly these files (what orchestrators may read
without dbt), and whether the pair is published already (so a worker that found its state in the store does not
upload it again).
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from dbt_kickoff.atomic import write_atomically
from dbt_kickoff.core.call import Call
from dbt_kickoff.warm.bundle import Bundle, UnusableEntry, pack
from dbt_kickoff.warm.relocate import relocate
from dbt_kickoff.warm.store import WarmStore

STATE_FILE = "partial_parse.msgpack"
MANIFEST_FILE = "manifest.json"
STAMP_FILE = ".dbt-kickoff-warm.json"
_MSGPACK_MAP_HEADS = frozenset({*range(0x80, 0x90), 0xDE, 0xDF})
"""dbt's state is one msgpack map: anything else is not worth handing to dbt."""


@dataclass(frozen=True)
class TargetStamp:
    """What the target folder's parse state and manifest are: ``key`` and ``fingerprint`` they were made for;
    ``restored``: the state came from the store and dbt has not parsed since (``manifest.json`` is then not
    this state's); ``published``: the store holds this key and fingerprint."""

    key: str
    fingerprint: str
    restored: bool = False
    published: bool = False


def read_stamp(target: Path) -> TargetStamp | None:
    try:
        data = json.loads((target / STAMP_FILE).read_text(encoding="utf-8"))
        return TargetStamp(str(data["key"]), str(data["fingerprint"]), bool(data.get("restored")),
                           bool(data.get("published")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_stamp(target: Path, stamp: TargetStamp) -> None:
    write_atomically(target / STAMP_FILE, json.dumps(asdict(stamp)), private=False)


def wants_restore(target: Path, key: str) -> bool:
    """True when the target folder has no parse state, or one the stamp says was made for another key (a state
    dbt left without a stamp is kept: it is this folder's own)."""
    if not (target / STATE_FILE).is_file():
        return True
    stamp = read_stamp(target)
    return stamp is not None and stamp.key != key


@dataclass(frozen=True)
class RestoredState:
    """A parse state put in the target folder: where from, what the publisher said of it, and the file's
    modification time (dbt replaces the file when it parses)."""

    uri: str
    meta: dict[str, Any]
    mtime_ns: int


def restore(call: Call, store: WarmStore, key: str) -> RestoredState | None:
    """Put the stored parse state for ``key`` into the call's target folder, moved to this project's folder;
    ``None`` when the store has none. A damaged or foreign entry raises :class:`UnusableEntry`."""
    path = store.parse_path(key)
    data = store.read(path)
    if data is None:
        return None
    bundle = Bundle(data, kind="parse", key=key)
    state = bundle.read(STATE_FILE)
    if not state or state[0] not in _MSGPACK_MAP_HEADS:
        raise UnusableEntry(f"its {STATE_FILE} is not a dbt parse state")
    project_dir = str(bundle.meta.get("project_dir") or "")
    if project_dir:
        state, _ = relocate(state, project_dir, str(call.project.dir))
    target = call.target_dir
    written = write_atomically(target / STATE_FILE, state, private=False)
    write_stamp(target, TargetStamp(key, str(bundle.meta.get("fingerprint")), restored=True, published=True))
    return RestoredState(store.uri(path), bundle.meta, written.stat().st_mtime_ns)


_REJECTED = re.compile(r"Unable to do partial parsing because (?P<reason>[^\n\x1b]+)")
_UNREADABLE = re.compile(r"Failed to load parsed file from disk at [^\n]*")
_ACCEPTED = re.compile(r"Partial parsing enabled|skipping partial parsing|Nothing changed, skipping")


def verdict(log_text: str) -> str | None:
    """dbt's verdict on a saved parse state, read in its own log lines: ``"accepted"``, why it parsed the whole
    project instead, or ``None`` when the lines do not tell (dbt did not parse)."""
    rejected = _REJECTED.search(log_text)
    if rejected:
        return rejected.group("reason").strip().rstrip(".")
    if _UNREADABLE.search(log_text):
        return "dbt could not read the file"
    return "accepted" if _ACCEPTED.search(log_text) else None


def written_since(path: Path, since: float) -> bool:
    try:
        return path.stat().st_mtime >= since
    except FileNotFoundError:
        return False


def note_parse(call: Call, key: str, since: float, restored: RestoredState | None) -> TargetStamp | None:
    """After a call: when dbt wrote the target folder's state and manifest during it, for files that did not
    change meanwhile, stamp them with the key and fingerprint (published when the store has that pair already:
    the state restored for it); return the stamp, else ``None``."""
    target = call.target_dir
    state, manifest = target / STATE_FILE, target / MANIFEST_FILE
    if not (written_since(state, since) and written_since(manifest, since)):
        return None
    project = call.project
    fingerprint = project.fingerprint
    project.files_changed()
    if project.fingerprint != fingerprint:  # edited while dbt ran: the files are not what dbt parsed
        return None
    rewritten = restored is None or state.stat().st_mtime_ns != restored.mtime_ns
    previous = read_stamp(target)
    published = not rewritten and previous is not None and previous.key == key and (
        previous.fingerprint == fingerprint and previous.published)
    stamp = TargetStamp(key, fingerprint, restored=False, published=published)
    write_stamp(target, stamp)
    return stamp


def publish(call: Call, store: WarmStore, stamp: TargetStamp) -> bool:
    """Publish the target folder's state (the last one of its key) and manifest (for its key and files); False
    when a secret of the runner occurs in them (nothing is published then)."""
    target = call.target_dir
    state = (target / STATE_FILE).read_bytes()
    manifest = (target / MANIFEST_FILE).read_bytes()
    if call.redact.found_in(state) or call.redact.found_in(manifest):
        return False
    meta = {"kind": "parse", "key": stamp.key, "fingerprint": stamp.fingerprint,
            "project_dir": str(call.project.dir), "project": call.project.name, "commit_sha": call.project.commit_sha,
            "published_at": datetime.now(timezone.utc).isoformat()}
    store.write(store.parse_path(stamp.key), pack(meta, {STATE_FILE: state}))
    store.write(store.manifest_path(stamp.key, stamp.fingerprint), gzip.compress(manifest, compresslevel=3))
    write_stamp(target, TargetStamp(stamp.key, stamp.fingerprint, published=True))
    return True


def local_manifest(target: Path, key: str, fingerprint: str) -> dict[str, Any] | None:
    """The target folder's ``manifest.json`` when dbt wrote it for this key and these files, else ``None``."""
    stamp = read_stamp(target)
    if stamp is None or stamp.restored or (stamp.key, stamp.fingerprint) != (key, fingerprint):
        return None
    try:
        return dict(json.loads((target / MANIFEST_FILE).read_bytes()))
    except (OSError, ValueError):
        return None


def stored_manifest(store: WarmStore, key: str, fingerprint: str) -> dict[str, Any] | None:
    """The published ``manifest.json`` for this key and these files, else ``None`` (also when damaged)."""
    data = store.read(store.manifest_path(key, fingerprint))
    if data is None:
        return None
    try:
        return dict(json.loads(gzip.decompress(data)))
    except (OSError, EOFError, ValueError):
        return None
