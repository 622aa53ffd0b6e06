"""The run report in a terminal: outcome, counts, critical path, slowest nodes and failures (rich); and the
failure side of a call (what broke, what it took down, how to resume), shown by ``run``, ``retry`` and
``report``."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group
from rich.table import Table
from rich.text import Text

from dbt_kickoff.report.model import ReportData, TimelineNode
from dbt_kickoff.report.outcome import CallOutcome
from dbt_kickoff.results import NodeResult
from dbt_kickoff.terminal_text import strip_control

STYLES = {"success": "green", "failed": "bold red", "error": "bold red", "cancelled": "yellow", "timeout": "yellow"}
NAMES_SHOWN = 20


def _nodes(title: str, nodes: list[TimelineNode]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("node", "type", "status", "seconds"):
        table.add_column(column, justify="right" if column == "seconds" else "left")
    for node in nodes:
        table.add_row(node.result.model_name, node.result.resource_type, node.result.status, f"{node.seconds:.2f}")
    return table


def names(results: Sequence[NodeResult], limit: int = NAMES_SHOWN) -> str:
    """``a, b, c`` (and ``… and N more`` past ``limit``)."""
    shown = ", ".join(r.model_name for r in results[:limit])
    return shown + (f" … and {len(results) - limit} more" if len(results) > limit else "")


def _indented(message: str | None, prefix: str = "    ") -> str:
    """dbt's message indented (and, from a record written before messages were cleaned, without escapes)."""
    lines = strip_control(message or "").strip("\n").splitlines() or ["(dbt gave no message)"]
    return "\n".join(prefix + line.rstrip() for line in lines)


def render_outcome(outcome: CallOutcome) -> Group:
    """The failure side of a call: one block per failing node with dbt's whole message and what it took down,
    the other skipped nodes, the steps not run, the record and the resume command. Empty for a success."""
    parts: list[Text] = []
    if not outcome.failed:
        return Group()
    for failure in outcome.failures:
        r = failure.result
        head = Text.assemble(("✗ ", "bold red"), (f"{r.resource_type} {r.model_name}", "bold"),
                             (f" [{r.status}]", "bold red"))
        if failure.took_down:
            head.append(f"  took down {len(failure.took_down)}: {names(failure.took_down)}", style="yellow")
        parts += [head, Text(_indented(r.message))]
    if outcome.error and not outcome.failures:
        parts += [Text("✗ the call stopped", style="bold red"), Text(_indented(outcome.error))]
    others = outcome.skipped_otherwise
    if others:
        fail_fast = all("fail_fast" in (r.message or "") for r in others)
        label = "skipped by --fail-fast (downstream of no failure)" if fail_fast else "also skipped"
        parts.append(Text(f"{label}: {names(others)}", style="yellow"))
    if outcome.steps_not_run:
        parts.append(Text(f"steps not run: {', '.join(outcome.steps_not_run)}", style="yellow"))
    if outcome.record:
        parts.append(Text(f"record: {outcome.record}"))
    if outcome.resume:
        parts.append(Text.assemble("resume with: ", (outcome.resume, "bold")))
    return Group(*parts)


def render_terminal(data: ReportData, slowest: int = 10, outcome: CallOutcome | None = None) -> Group:
    """A renderable summary of ``data`` (with ``outcome``, the failure side as :func:`render_outcome` shows it)."""
    report = data.report
    status = report.outcome or "unknown"
    counts = ", ".join(f"{count} {s}" for s, count in sorted(data.counts.items())) or "no nodes"
    head = Text.assemble(
        (f"{data.package.get('project_name') or 'dbt'} ", "bold"), (status, STYLES.get(status, "")),
        f"  {report.call or ''} · {len(report.results)} node(s): {counts} · wall {data.wall_seconds:.1f}s · "
        f"{'path to the failure' if data.path_to_failure else 'critical path'} {data.critical_seconds:.1f}s",
    )
    parts: list[object] = [head, Text(f"record {data.name}", style="dim")]
    if report.changed is not None:
        parts.append(Text(report.changed.describe()))
    if data.critical_path:
        label = "path to the failure" if data.path_to_failure else "critical path"
        parts.append(Text(f"{label}: " + " → ".join(n.result.model_name for n in data.critical_path)))
    if data.nodes:
        parts.append(_nodes(f"{slowest} slowest", data.slowest(slowest)))
    if outcome is not None:
        parts.append(render_outcome(outcome))
    else:
        for failure in data.failures:
            parts.append(Text.assemble((f"✗ {failure.model_name} [{failure.status}]\n", "bold red"),
                                       _indented(failure.message)))
        if report.error and not data.failures:
            parts.append(Text(f"stopped: {strip_control(report.error)}", style="yellow"))
    if data.running:
        parts.append(Text(f"running when it stopped: {', '.join(data.running)}", style="yellow"))
    return Group(*parts)  # type: ignore[arg-type]
