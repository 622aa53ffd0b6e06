"""The progress board of one DAG run's build: where the producer task says how its build goes, node by node, and
where the node tasks (their triggers, in Airflow's triggerer) read it. No Airflow here.

One folder per DAG run and task group, under ``root`` (a local folder, or an fsspec URL such as ``s3://…``
shared by the workers and the triggerer, like the run records)::

    <root>/<dag_id>/<run_id>/<group>/producer.json     the producer's attempt: running/success/finished/failed/...
    <root>/<dag_id>/<run_id>/<group>/nodes/<id>.json   one node's latest result (status, time, rows, message)

Every file is replaced whole (a local rename, a single object PUT), so a reader sees the old content or the
new. ``generation`` tells builds of the same DAG run apart: a producer that starts over (its earlier attempt
succeeded, and it was cleared) begins a new generation, and results of an older one no longer count.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from time import time as epoch_seconds
from typing import Any
from urllib.parse import quote

from dbt_kickoff.atomic import write_atomically
from dbt_kickoff.errors import ConfigurationError

PRODUCER_FILE = "producer.json"
OK_STATUSES = frozenset({"success", "pass", "warn", "unchanged"})
"""A node result that lets what depends on it go on (``unchanged``: a changed-only build left it alone)."""
SKIPPED_STATUSES = frozenset({"skipped"})
RUNNING, SUCCESS, FINISHED, FAILED, STOPPED = "running", "success", "finished", "failed", "stopped"
"""A producer's states: ``finished`` = dbt built everything it could, some nodes failed (their tasks say so);
``failed`` = the build itself failed (dbt could not run, crashed...); ``stopped`` = cancelled or killed."""
HEARTBEAT_SECONDS = 10.0
STALE_SECONDS = 90.0
"""A running producer whose heartbeat is older than this is taken for dead (when Airflow cannot tell)."""


@dataclass(frozen=True)
class ProducerState:
    """What the producer's current attempt says about itself."""

    generation: int
    attempt: int
    state: str
    final: bool
    """No later attempt follows this one (its task has no retry left)."""
    heartbeat: float
    record: str | None = None
    """The newest run record of the build (a retry's record after a node was rebuilt)."""
    message: str | None = None

    @property
    def ended(self) -> bool:
        return self.state != RUNNING

    def stale(self, now: float) -> bool:
        return self.state == RUNNING and now - self.heartbeat > STALE_SECONDS

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProducerState:
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})


@dataclass(frozen=True)
class NodeEntry:
    """One node's latest result, as the node's task reports it."""

    unique_id: str
    name: str
    resource_type: str
    status: str
    time: float = 0.0
    rows: int | None = None
    failures: int | None = None
    message: str | None = None
    generation: int = 1
    attempt: int = 1
    by: str = "producer"
    """Who built it: ``producer``, or the node task that rebuilt it."""
    completed_at: float = field(default_factory=epoch_seconds)

    @property
    def ok(self) -> bool:
        return self.status in OK_STATUSES

    @property
    def skipped(self) -> bool:
        return self.status in SKIPPED_STATUSES

    @property
    def failed(self) -> bool:
        return not self.ok and not self.skipped

    def summary(self) -> str:
        """``m1_000 (model): success in 0.53s, 120 rows``, with dbt's message when it failed."""
        text = f"{self.name} ({self.resource_type}): {self.status} in {self.time:.2f}s"
        if self.rows is not None:
            text += f", {self.rows} rows"
        if self.failures:
            text += f", {self.failures} failures"
        if self.message and not self.ok:
            text += f": {self.message}"
        return text

    def to_xcom(self) -> dict[str, Any]:
        """A small JSON value (as ``DbtKickoffOperator``'s ``dbt_results`` items)."""
        item: dict[str, Any] = {"unique_id": self.unique_id, "name": self.name, "type": self.resource_type,
                                "status": self.status, "time": round(self.time, 3)}
        if self.rows is not None:
            item["rows"] = self.rows
        if self.failures:
            item["failures"] = self.failures
        if self.message and not self.ok:
            item["message"] = self.message[:300]
        return item

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NodeEntry:
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})


@dataclass(frozen=True)
class Snapshot:
    """What the board said, read once: the producer's state and the entries of some nodes."""

    producer: ProducerState | None
    entries: Mapping[str, NodeEntry]

    def current(self, unique_id: str) -> NodeEntry | None:
        """The node's entry when it belongs to the producer's current generation."""
        entry = self.entries.get(unique_id)
        if entry is None or self.producer is None or entry.generation != self.producer.generation:
            return None
        return entry


def board_folder(root: str, dag_id: str, run_id: str, group: str) -> str:
    """Where the board of a DAG run and task group lives under ``root``."""
    return "/".join([root.rstrip("/"), *(_safe(part) for part in (dag_id, run_id, group or "_dag"))])


class Board:
    """Reads and writes one board (see the module docstring); ``location`` is a folder path or an fsspec URL."""

    def __init__(self, location: str, storage_options: Mapping[str, Any] | None = None) -> None:
        self.location = location.rstrip("/")
        self._local: Path | None = None
        self._fs: Any = None
        if location.startswith("file://"):
            self._local = Path(location[len("file://"):])
        elif "://" not in location:
            self._local = Path(location).expanduser()
        else:
            try:
                import fsspec
            except ImportError:
                raise ConfigurationError(
                    f"the progress board {location!r} needs fsspec and its back end: "
                    "pip install 'dbt-kickoff[records-s3]' (or records-gcs, records-azure)"
                ) from None
            self._fs, path = fsspec.core.url_to_fs(location, **dict(storage_options or {}))
            self._root = str(path).rstrip("/")

    @property
    def local_root(self) -> Path | None:
        """The board's folder when it is local, else ``None``."""
        return self._local

    # -- producer -----------------------------------------------------------------------------------------------
    def producer(self) -> ProducerState | None:
        data = self._read(PRODUCER_FILE)
        return ProducerState.from_dict(data) if data is not None else None

    def write_producer(self, state: ProducerState) -> None:
        self._write(PRODUCER_FILE, asdict(state))

    # -- nodes --------------------------------------------------------------------------------------------------
    def entry(self, unique_id: str) -> NodeEntry | None:
        data = self._read(self.node_file(unique_id))
        return NodeEntry.from_dict(data) if data is not None else None

    def write_entry(self, entry: NodeEntry) -> None:
        self._write(self.node_file(entry.unique_id), asdict(entry))

    def snapshot(self, unique_ids: Iterable[str]) -> Snapshot:
        """The producer's state, then the nodes' entries (in that order: an entry a finished producer wrote is
        always seen by a reader that saw it finished)."""
        producer = self.producer()
        entries = {uid: entry for uid in unique_ids if (entry := self.entry(uid)) is not None}
        return Snapshot(producer, entries)

    @staticmethod
    def node_file(unique_id: str) -> str:
        return f"nodes/{_safe(unique_id)}.json"

    # -- storage ------------------------------------------------------------------------------------------------
    def _read(self, name: str) -> dict[str, Any] | None:
        try:
            if self._local is not None:
                raw = (self._local / name).read_bytes()
            else:
                raw = self._fs.cat_file(f"{self._root}/{name}")
        except (FileNotFoundError, OSError):
            return None
        try:
            data = json.loads(raw)
        except json.JSONDecodeError:
            return None
        return data if isinstance(data, dict) else None

    def _write(self, name: str, data: Mapping[str, Any]) -> None:
        content = json.dumps(data, default=str).encode()
        if self._local is not None:
            write_atomically(self._local / name, content, private=False)
        else:
            self._fs.pipe_file(f"{self._root}/{name}", content)


def _safe(part: str) -> str:
    """A path segment: URL-quoted, with a hash when it is long."""
    text = quote(part, safe="-_.")
    if len(text) > 150:
        text = text[:120] + "-" + hashlib.sha256(part.encode()).hexdigest()[:16]
    return text
