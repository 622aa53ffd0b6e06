"""Installed dbt packages between a project and the store: a fresh clone gets what ``dbt deps`` installed
elsewhere from the same declaration, without the package hub or git (so it works offline)."""

from __future__ import annotations

import os
import shutil
import uuid
from datetime import datetime, timezone
from pathlib import Path

from dbt_kickoff.atomic import write_atomically
from dbt_kickoff.core.call import Call
from dbt_kickoff.warm.bundle import Bundle, pack, symlinks_in
from dbt_kickoff.warm.store import WarmStore

LOCK_FILE = "package-lock.yml"
TREE = "packages"


def restore(call: Call, store: WarmStore, key: str) -> str | None:
    """Put the packages stored for ``key`` in place (and the ``package-lock.yml`` ``dbt deps`` wrote with them),
    as ``dbt deps`` would have; return the entry's URI, ``None`` when the store has none. A damaged or foreign
    entry raises :class:`~dbt_kickoff.warm.bundle.UnusableEntry` before anything in the project changes."""
    path = store.packages_path(key)
    data = store.read(path)
    if data is None:
        return None
    bundle = Bundle(data, kind="packages", key=key)
    project = call.project
    installed = project.packages_dir
    installed.parent.mkdir(parents=True, exist_ok=True)
    staging = installed.parent / f".{installed.name}-restoring-{uuid.uuid4().hex[:12]}"
    retired = installed.parent / f".{installed.name}-retired-{uuid.uuid4().hex[:12]}"
    try:
        bundle.extract(TREE, staging)
        if installed.exists():
            installed.rename(retired)
        staging.rename(installed)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(retired, ignore_errors=True)
    if LOCK_FILE in bundle.names:
        write_atomically(project.dir / LOCK_FILE, bundle.read(LOCK_FILE), private=False)
    project.remember_dependencies()
    return store.uri(path)


def publishable(call: Call) -> str | None:
    """Why the installed packages cannot be published (``None``: they can)."""
    installed = call.project.packages_dir
    if not installed.is_dir():
        return f"{installed} is not there"
    links = symlinks_in(installed)
    if links:
        return f"{links[0]} is a symbolic link (only plain files are kept)"
    lock = call.project.dir / LOCK_FILE
    if lock.is_file() and call.redact.found_in(lock.read_bytes()):
        return f"{LOCK_FILE} holds a secret of the runner"
    for root, dirs, files in os.walk(installed):
        dirs[:] = [d for d in dirs if d != ".git"]
        if any(call.redact.found_in(Path(root, name).read_bytes()) for name in files):
            return "a file holds a secret of the runner"
    return None


def publish(call: Call, store: WarmStore, key: str) -> str:
    """Publish the installed packages (with ``package-lock.yml``) under ``key``; return the entry's URI."""
    project = call.project
    lock = project.dir / LOCK_FILE
    files = {LOCK_FILE: lock.read_bytes()} if lock.is_file() else {}
    meta = {"kind": "packages", "key": key, "project": project.name,
            "published_at": datetime.now(timezone.utc).isoformat()}
    path = store.packages_path(key)
    store.write(path, pack(meta, files, {TREE: project.packages_dir}))
    return store.uri(path)
