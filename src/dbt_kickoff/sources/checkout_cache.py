"""The on-disk cache of git checkouts: one folder per (URL, ref), a lock beside it, atomic installs.

Layout under the cache root::

    <slug>-<hash>/            the checkout (a normal git work tree)
    <slug>-<hash>/.git/dbt-kickoff.json   written last: marks a complete checkout and what it holds
    <slug>-<hash>.lock        filelock held while the entry is read or changed
    .tmp/<slug>-<hash>-*/     clones in progress (and leftovers of killed ones, removed under the lock)
    known_hosts               host keys remembered by the ``accept-new`` ssh policy
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import filelock
import platformdirs

from dbt_kickoff.atomic import write_atomically
from dbt_kickoff.errors import PrerequisitesException

STATE_FILE = "dbt-kickoff.json"
_SLUG_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def default_cache_dir() -> Path:
    """The platform's user cache folder for git checkouts (e.g. ``~/.cache/dbt-kickoff/git``)."""
    return Path(platformdirs.user_cache_dir("dbt-kickoff", appauthor=False)) / "git"


@dataclass(frozen=True)
class CheckoutState:
    """What a complete checkout holds; its presence is the proof that the clone finished."""

    url: str
    ref: str | None
    commit: str


@dataclass(frozen=True)
class CacheEntry:
    """One cached checkout of ``url`` at ``ref``."""

    root: Path
    key: str

    @classmethod
    def for_remote(cls, root: Path, url_key: str, ref: str | None) -> CacheEntry:
        digest = hashlib.sha256(f"{url_key}\0{ref or 'HEAD'}".encode()).hexdigest()[:16]
        name = url_key.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1].removesuffix(".git")
        slug = _SLUG_UNSAFE.sub("-", name).strip("-.")[:40] or "repo"
        return cls(root=root, key=f"{slug}-{digest}")

    @property
    def path(self) -> Path:
        return self.root / self.key

    @property
    def known_hosts(self) -> Path:
        return self.root / "known_hosts"

    def lock(self, timeout: float) -> filelock.FileLock:
        """A per-entry inter-process lock (reentrant for its holder)."""
        self.root.mkdir(parents=True, exist_ok=True)
        return filelock.FileLock(str(self.root / f"{self.key}.lock"), timeout=timeout)

    def read_state(self) -> CheckoutState | None:
        """The entry's state, or None when the entry is absent or was never completed."""
        try:
            data = json.loads((self.path / ".git" / STATE_FILE).read_text(encoding="utf-8"))
            return CheckoutState(url=data["url"], ref=data["ref"], commit=data["commit"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def new_temp_dir(self) -> Path:
        """A fresh folder next to the entry (same file system) to clone into."""
        temp_root = self.root / ".tmp"
        temp_root.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f"{self.key}-", dir=temp_root))

    def remove_leftovers(self) -> None:
        """Delete clones that a killed process left behind. Call only while holding the lock."""
        temp_root = self.root / ".tmp"
        if temp_root.is_dir():
            for leftover in temp_root.glob(f"{self.key}-*"):
                shutil.rmtree(leftover, ignore_errors=True)

    def remove_stale_git_locks(self) -> None:
        """Delete git's own lock files (index.lock, shallow.lock, ref locks) left by a killed git.

        Safe only while holding the entry's lock: then no other git process works in this checkout.
        """
        git_dir = self.path / ".git"
        for lock in [*git_dir.glob("*.lock"), *git_dir.glob("refs/**/*.lock")]:
            lock.unlink(missing_ok=True)

    def install(self, checkout: Path) -> None:
        """Move a complete checkout into place, replacing whatever was there. Call while holding the lock."""
        if self.path.exists() or self.path.is_symlink():
            trash = self.new_temp_dir()
            os.replace(self.path, trash / "old")
            shutil.rmtree(trash, ignore_errors=True)
        try:
            os.replace(checkout, self.path)
        except OSError as exc:
            raise PrerequisitesException(
                f"could not move the new checkout into the cache at {self.path}: {exc.strerror}"
            ) from None


def write_state(checkout: Path, state: CheckoutState) -> None:
    """Record (atomically) what ``checkout`` holds."""
    write_atomically(checkout / ".git" / STATE_FILE,
                     json.dumps({"url": state.url, "ref": state.ref, "commit": state.commit}))
