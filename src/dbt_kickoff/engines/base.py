"""What every engine takes and gives back: one dbt command in, events and an outcome out."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True)
class NodeEvent:
    """Progress of one node, from dbt's NodeStart / NodeFinished events."""

    unique_id: str
    name: str
    resource_type: str
    status: str
    execution_time: float | None = None
    message: str | None = None


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


@dataclass(frozen=True)
class Invocation:
    """One dbt command: ``args`` as given to the ``dbt`` command line (``["run", "--select", "x", ...]``)."""

    args: Sequence[str]
    timeout: float | None = None
    manifest_key: str | None = None
    """Engines that keep dbt warm reuse the parsed manifest while this key stays the same."""
    parse_args: Sequence[str] = ()
    """The ``dbt parse`` command line that builds the manifest for ``manifest_key``."""


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


class Engine(Protocol):
    """Runs dbt commands for one project; may keep state (a warm process) between commands until closed."""

    dbt_version: str | None

    def start(self) -> None: ...

    def execute(self, invocation: Invocation, on_event: EventHandler) -> InvocationOutcome: ...

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

    def __call__(self, event: DbtEvent) -> None:
        if event.invocation_id and not self.invocation_id:
            self.invocation_id = event.invocation_id
        if event.name in self.NOTHING_SELECTED:
            self.nothing_selected = True
        if event.level == "warn" and event.message:
            self.warnings.append(event.message)
        elif event.level == "error" and event.message:
            self.errors.append(event.message)
        self.forward(event)

    def outcome(self, success: bool, error: str | None, duration: float, *, invocation_id: str | None = None,
                parsed: bool = False, rss: int | None = None) -> InvocationOutcome:
        return InvocationOutcome(
            success=success,
            error=error,
            invocation_id=invocation_id or self.invocation_id,
            parsed=parsed,
            rss=rss,
            warnings=self.warnings,
            errors=self.errors,
            nothing_selected=self.nothing_selected,
            duration=duration,
        )


def event_from_wire(data: Mapping[str, Any], redact: Callable[[str], str] = str) -> DbtEvent:
    """Build a :class:`DbtEvent` from the worker's JSON event, passing its texts through ``redact``."""
    node = data.get("node")
    return DbtEvent(
        name=str(data.get("name", "")),
        level=str(data.get("level", "info")),
        message=redact(str(data.get("msg") or "")),
        invocation_id=data.get("invocation_id") or None,
        node=NodeEvent(
            unique_id=node["unique_id"],
            name=node.get("name") or node["unique_id"].rsplit(".", 1)[-1],
            resource_type=node.get("resource_type") or node["unique_id"].split(".", 1)[0],
            status=node.get("status") or "",
            execution_time=node.get("execution_time"),
            message=redact(node["message"]) if node.get("message") else None,
        )
        if node
        else None,
    )


def worker_script_path() -> Path:
    return Path(__file__).with_name("worker_script.py")
