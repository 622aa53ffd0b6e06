"""What every engine takes and gives back: one dbt command in, events and an outcome out."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from dbt_kickoff.terminal_text import strip_control


@dataclass(frozen=True)
class NodeEvent:
    """Progress of one node, from dbt's NodeStart / NodeFinished events."""

    unique_id: str
    name: str
    resource_type: str
    status: str
    execution_time: float | None = None
    message: str | None = None
    rows_affected: int | None = None
    """The adapter's row count when dbt finished the node (``None`` when it reports none)."""
    failures: int | None = None


@dataclass(frozen=True)
class DbtEvent:
    """One dbt log event, streamed while a command runs (for progress and logging; results come from files)."""

    name: str
    level: str
    message: str
    invocation_id: str | None = None
    node: NodeEvent | None = None

    @property
    def finished(self) -> bool:
        return self.name == "NodeFinished"


EventHandler = Callable[[DbtEvent], None]


class CancelToken:
    """Carries one cancel request from whoever asks (any thread, a signal handler) to the engine that runs dbt.

    The engine listens while a command runs; a cancel that comes before it listens is delivered as soon as it
    does, so no request falls between two commands. Asking twice passes the second request on too (an
    engine then kills at once).
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()  # re-entrant: a signal handler may run while its own thread holds it
        self._listener: Callable[[str], None] | None = None
        self.reason: str | None = None

    def cancel(self, reason: str = "cancelled") -> None:
        with self._lock:
            self.reason = self.reason or reason
            listener = self._listener
        if listener is not None:
            listener(reason)

    @contextlib.contextmanager
    def listening(self, listener: Callable[[str], None]) -> Iterator[None]:
        with self._lock:
            self._listener = listener
            reason = self.reason
        if reason is not None:
            listener(reason)
        try:
            yield
        finally:
            with self._lock:
                self._listener = None


@dataclass(frozen=True)
class Invocation:
    """One dbt command: ``args`` as given to the ``dbt`` command line (``["run", "--select", "x", ...]``)."""

    args: Sequence[str]
    timeout: float | None = None
    manifest_key: str | None = None
    """Engines that keep dbt warm reuse the parsed manifest while this key stays the same."""
    parse_args: Sequence[str] = ()
    """The ``dbt parse`` command line that builds the manifest for ``manifest_key``."""
    target_dir: Path | None = None
    """Where this command writes its artifacts (``--target-path``)."""
    cancel_token: CancelToken | None = field(default=None, compare=False)
    """Cancels this command when asked (see :class:`CancelToken`)."""
    env: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)
    """Environment variables for this command only (secrets of a destination resolved again per command)."""


def cancel_listener(invocation: Invocation, cancel: Callable[[str], None]) -> contextlib.AbstractContextManager[None]:
    """Deliver the invocation's cancel requests to ``cancel`` while the context is open."""
    token = invocation.cancel_token
    return token.listening(cancel) if token is not None else contextlib.nullcontext()


@dataclass
class InvocationOutcome:
    """What the engine observed. ``success`` is dbt's verdict; ``error`` an exception text when dbt raised."""

    success: bool
    error: str | None = None
    invocation_id: str | None = None
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    nothing_selected: bool = False
    duration: float = 0.0
    parsed: bool = False
    """True when the engine parsed the project for this command (a warm engine reuses its manifest)."""
    rss: int | None = None
    """Resident memory of the dbt process after the command, in bytes, when known."""
    cancelled: str | None = None
    """Why the command was stopped before it finished (cancel, timeout, interrupt); ``None`` when it was not."""
    crashed: bool = False
    """The dbt process died during the command (killed from outside, out of memory, a crash)."""
    finished_nodes: list[NodeEvent] = field(default_factory=list)
    """Nodes that finished, from the live events (what remains when no run_results.json was written)."""
    running_nodes: list[NodeEvent] = field(default_factory=list)
    """Nodes that were running when the command was stopped (or had not finished when it ended)."""


class Engine(Protocol):
    """Runs dbt commands for one project; may keep state (a warm process) between commands until closed.

    This is all the runner knows of an engine. ``cancel`` may be called from any thread or a signal handler
    while ``execute`` waits in another: it returns at once, and ``execute`` then stops dbt (SIGINT, a grace
    period, a kill) and returns an outcome whose ``cancelled`` says why. A ``BaseException`` raised in the
    waiting thread stops dbt the same way before it propagates.
    """

    dbt_version: str | None
    commands_run: int
    keeps_manifest: bool
    """True when the engine reuses a parsed manifest between commands (``Invocation.manifest_key``)."""

    def start(self) -> None: ...

    def execute(self, invocation: Invocation, on_event: EventHandler) -> InvocationOutcome: ...

    def sources(self, invocation: Invocation, on_event: EventHandler) -> list[dict[str, Any]]:
        """The project's sources (unique_id, source_name, name, schema, identifier, database, relation_name,
        loaded_at_field, loaded_at_query, freshness)."""
        ...

    def cancel(self, reason: str = "cancelled") -> None: ...

    def close(self) -> None: ...


class OutcomeCollector:
    """Collects warnings, errors and the invocation id from the event stream, then forwards the event."""

    NOTHING_SELECTED = frozenset({"NoNodesForSelectionCriteria", "NothingToDo"})

    def __init__(self, forward: EventHandler) -> None:
        self.forward = forward
        self.invocation_id: str | None = None
        self.warnings: list[str] = []
        self.errors: list[str] = []
        self.nothing_selected = False
        self.running: dict[str, NodeEvent] = {}
        self.finished: list[NodeEvent] = []
        self.running_when_stopped: list[NodeEvent] | None = None

    def stopping(self) -> None:
        """The command is being stopped: what runs now is what was interrupted (dbt reports it as failed)."""
        if self.running_when_stopped is None:
            self.running_when_stopped = list(self.running.values())

    def __call__(self, event: DbtEvent) -> None:
        if event.invocation_id and not self.invocation_id:
            self.invocation_id = event.invocation_id
        if event.node is not None:
            if event.finished:
                self.running.pop(event.node.unique_id, None)
                self.finished.append(event.node)
            elif event.name == "NodeStart":
                self.running[event.node.unique_id] = event.node
        if event.name in self.NOTHING_SELECTED:
            self.nothing_selected = True
        if event.level == "warn" and event.message:
            self.warnings.append(event.message)
        elif event.level == "error" and event.message:
            self.errors.append(event.message)
        self.forward(event)

    def outcome(self, success: bool, error: str | None, duration: float, *, invocation_id: str | None = None,
                parsed: bool = False, rss: int | None = None, cancelled: str | None = None,
                crashed: bool = False) -> InvocationOutcome:
        return InvocationOutcome(
            success=success and not cancelled and not crashed,
            error=error,
            invocation_id=invocation_id or self.invocation_id,
            parsed=parsed,
            rss=rss,
            warnings=self.warnings,
            errors=self.errors,
            nothing_selected=self.nothing_selected,
            duration=duration,
            cancelled=cancelled,
            crashed=crashed,
            finished_nodes=[node for node in self.finished if node.unique_id not in {
                n.unique_id for n in self.running_when_stopped or ()}],
            running_nodes=list(self.running.values()) if self.running_when_stopped is None
            else self.running_when_stopped,
        )


def event_from_wire(data: Mapping[str, Any], redact: Callable[[str], str] = str) -> DbtEvent:
    """Build a :class:`DbtEvent` from the worker's JSON event, passing its texts through ``redact`` and
    :func:`~dbt_kickoff.terminal_text.strip_control` (dbt's messages quote the warehouse's)."""
    node = data.get("node")
    return DbtEvent(
        name=str(data.get("name", "")),
        level=str(data.get("level", "info")),
        message=strip_control(redact(str(data.get("msg") or ""))),
        invocation_id=data.get("invocation_id") or None,
        node=NodeEvent(
            unique_id=node["unique_id"],
            name=node.get("name") or node["unique_id"].rsplit(".", 1)[-1],
            resource_type=node.get("resource_type") or node["unique_id"].split(".", 1)[0],
            status=node.get("status") or "",
            execution_time=node.get("execution_time"),
            message=strip_control(redact(node["message"])) if node.get("message") else None,
            rows_affected=node.get("rows_affected"),
            failures=node.get("failures"),
        )
        if node
        else None,
    )


def wire_from_json_log(record: Mapping[str, Any]) -> dict[str, Any]:
    """dbt's ``--log-format json`` record -> the worker's event shape."""
    info = record.get("info") or {}
    data = record.get("data") or {}
    wire: dict[str, Any] = {
        "name": info.get("name", ""),
        "level": info.get("level", "info"),
        "msg": info.get("msg", ""),
        "invocation_id": info.get("invocation_id"),
    }
    node_info = data.get("node_info")
    if info.get("name") in {"NodeStart", "NodeFinished"} and node_info and node_info.get("unique_id"):
        node = {
            "unique_id": node_info["unique_id"],
            "name": node_info.get("node_name"),
            "resource_type": node_info.get("resource_type"),
            "status": node_info.get("node_status"),
        }
        run_result = data.get("run_result") or {}
        if run_result.get("status"):
            rows = (run_result.get("adapter_response") or {}).get("rows_affected")
            node.update(status=run_result["status"], execution_time=run_result.get("execution_time"),
                        message=run_result.get("message"), failures=run_result.get("num_failures"),
                        rows_affected=int(rows) if isinstance(rows, (int, float)) and rows >= 0 else None)
        wire["node"] = node
    return wire


def worker_script_path() -> Path:
    return Path(__file__).with_name("worker_script.py")
