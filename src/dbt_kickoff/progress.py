"""Live progress for people: one line per finished node and a status line for what runs now.

In a non-terminal (CI logs, orchestrator logs) there is no status line and no wrapping: each node is exactly
one line, however long, so log search and grep see whole lines.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.console import Console
from rich.status import Status
from rich.table import Table

from dbt_kickoff.engines import DbtEvent
from dbt_kickoff.results import NodeResult

STATUS_STYLES = {
    "success": "green", "pass": "green", "warn": "yellow", "skipped": "dim",
    "error": "bold red", "fail": "bold red", "runtime error": "bold red",
}


WIDE = 240
"""Width tables get when the output is not a terminal (rich would otherwise wrap them at 80 columns)."""


def console_for(stderr: bool = False, **options: Any) -> Console:
    """A console that never wraps at 80 columns when its output is not a terminal (``options``: more of
    rich's ``Console`` arguments, such as ``highlight`` or ``quiet``)."""
    console = Console(stderr=stderr, **options)
    if console.is_terminal:
        return console
    return Console(stderr=stderr, width=max(console.width, WIDE), soft_wrap=True, **options)


class NodeProgress:
    """An ``on_event`` handler that prints each node as dbt finishes it, with a live status line."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.finished = 0
        self.running: dict[str, str] = {}
        self._status: Status | None = None
        self._note = ""

    def __enter__(self) -> NodeProgress:
        if self.console.is_terminal:
            self._status = self.console.status("starting dbt…")
            self._status.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._status is not None:
            self._status.stop()

    def __call__(self, event: DbtEvent) -> None:
        node = event.node
        if node is None:
            return
        if event.name == "NodeStart":
            self.running[node.unique_id] = node.name
        elif event.finished:
            self.running.pop(node.unique_id, None)
            self.finished += 1
            style = STATUS_STYLES.get(node.status, "")
            seconds = f"{node.execution_time:.2f}s" if node.execution_time is not None else ""
            self.console.print(
                f"[{style}]{node.status:>8}[/] {node.resource_type:<9} {node.name}  [dim]{seconds}[/]",
                highlight=False, soft_wrap=not self.console.is_terminal,
            )
        self._refresh()

    def note(self, text: str) -> None:
        """Show ``text`` (a dbt Cloud run's status…) at the head of the status line."""
        self._note = text
        self._refresh()

    def _refresh(self) -> None:
        if self._status is not None:
            now = ", ".join(list(self.running.values())[:3]) or "…"
            head = f"{self._note}: " if self._note else ""
            self._status.update(f"{head}{self.finished} node(s) done; running: {now}")


def first_line(message: str | None) -> str:
    """The first line of a message (dbt's whole message is shown once, in the failure's own block)."""
    lines = (message or "").strip().splitlines()
    return lines[0] if lines else ""


def results_table(results: Iterable[NodeResult], title: str = "dbt results") -> Table:
    """A table of node results (name, type, status, time, rows, message; and why it was built, when a
    changed-only call says)."""
    results = list(results)
    reasons = any(r.reason for r in results)
    table = Table(title=title, show_lines=False)
    for column in ("node", "type", "status", "time (s)", "rows", "message", *(("reason",) if reasons else ())):
        table.add_column(column, overflow="fold")
    for r in results:
        style = STATUS_STYLES.get(r.status, "")
        table.add_row(
            r.model_name, r.resource_type, f"[{style}]{r.status}[/]", f"{r.time:.2f}",
            "" if r.rows_affected is None else str(r.rows_affected), first_line(r.message)[:120],
            *((r.reason or "",) if reasons else ()),
        )
    return table
