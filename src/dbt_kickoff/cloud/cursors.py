"""Where a wait keeps what it delivered of a run's node events, so a worker restarted mid-wait (same idempotency
key) goes on without delivering an event twice: one small JSON file per key and run, next to the run ledger.

A cursor is saved after each poll that delivered something; a worker killed between delivering a poll's events
and saving them (a few milliseconds) may deliver those again. Cursors older than the ledger's entries go.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dbt_kickoff.atomic import write_atomically
from dbt_kickoff.cloud.ledger import KEEP_SECONDS, default_state_dir

FOLDER = "cloud-events"


class EventCursors:
    """Cursors of node events per idempotency marker and run, under ``state_dir/cloud-events``."""

    def __init__(self, state_dir: Path | str | None = None) -> None:
        self.directory = (Path(state_dir) if state_dir is not None else default_state_dir()) / FOLDER
        self._pruned = False

    def _path(self, marker: str, run_id: int) -> Path:
        return self.directory / f"{marker.rsplit(':', 1)[-1]}-{run_id}.json"

    def load(self, marker: str, run_id: int) -> dict[str, Any] | None:
        """The state saved for this key and run, or ``None`` (none saved, or unreadable: delivery starts over)."""
        try:
            data = json.loads(self._path(marker, run_id).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def save(self, marker: str, run_id: int, state: Mapping[str, Any]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        write_atomically(self._path(marker, run_id), json.dumps(state, separators=(",", ":")))
        if not self._pruned:
            self._pruned = True
            self._prune()

    def _prune(self) -> None:
        old = time.time() - KEEP_SECONDS
        for path in self.directory.glob("*.json"):
            try:
                if path.stat().st_mtime < old:
                    path.unlink()
            except OSError:
                pass
