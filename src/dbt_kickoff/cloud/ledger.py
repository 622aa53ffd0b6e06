"""A local record of idempotency key → run id, so a restarted worker reattaches instead of re-triggering.

One JSON file (default under the platform's user state directory), guarded by a file lock and replaced
atomically. It holds ids only — never a token.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import platformdirs
from filelock import FileLock

from dbt_kickoff.atomic import write_atomically
from dbt_kickoff.errors import ConfigurationError

FILE_NAME = "cloud-runs.json"
KEEP_SECONDS = 90 * 24 * 3600


def default_state_dir() -> Path:
    return Path(platformdirs.user_state_dir("dbt-kickoff", appauthor=False))


def idempotency_marker(host: str, account_id: int, job_id: int, key: str) -> str:
    """A stable marker for ``key``: the same key always yields the same marker, on any machine."""
    digest = hashlib.sha256(f"{host}\0{account_id}\0{job_id}\0{key}".encode()).hexdigest()
    return f"dbt-kickoff:{digest[:16]}"


class RunLedger:
    """Maps idempotency markers to the run ids they started."""

    def __init__(self, state_dir: Path | str | None = None) -> None:
        self.directory = Path(state_dir) if state_dir is not None else default_state_dir()
        self.path = self.directory / FILE_NAME

    def __repr__(self) -> str:
        return f"RunLedger({str(self.path)!r})"

    def claim(self, marker: str) -> FileLock:
        """A lock held while one worker looks up, triggers and records ``marker``: two workers with the same
        idempotency key at the same moment start one run, not two. Not thread-local, so an async caller may
        take it in a worker thread and release it on the event loop."""
        self._lock()  # creates the folder
        return FileLock(
            str(self.directory / f".{marker.rsplit(':', 1)[-1]}.lock"), timeout=300, thread_local=False
        )

    def _lock(self) -> FileLock:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigurationError(
                f"cannot create the dbt-kickoff state directory {self.directory} ({exc.strerror}); "
                "pass state_dir= to use another folder"
            ) from None
        return FileLock(str(self.path) + ".lock", timeout=60)

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, json.JSONDecodeError):
            return {}  # a damaged ledger only costs a reconciliation by marker
        return data if isinstance(data, dict) else {}

    def lookup(self, marker: str) -> int | None:
        """The run id recorded for ``marker``, if any."""
        with self._lock():
            entry = self._read().get(marker)
        return int(entry["run_id"]) if isinstance(entry, dict) and "run_id" in entry else None

    def record(self, marker: str, run_id: int, job_id: int) -> None:
        """Remember that ``marker`` started ``run_id`` (atomic replace; old entries are pruned)."""
        with self._lock():
            data = self._read()
            now = time.time()
            data = {
                k: v for k, v in data.items() if isinstance(v, dict) and now - v.get("at", now) < KEEP_SECONDS
            }
            data[marker] = {"run_id": int(run_id), "job_id": int(job_id), "at": now}
            write_atomically(self.path, json.dumps(data, indent=1, sort_keys=True), durable=True)
