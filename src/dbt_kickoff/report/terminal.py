"""The run report in a terminal: outcome, counts, critical path, slowest nodes and failures (rich)."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from dbt_kickoff.report.model import ReportData, TimelineNode

STYLES = {"success": "green", "failed": "bold red", "error": "bold red", "cancelled": "yellow", "timeout": "yellow"}


def _nodes(title: str, nodes: list[TimelineNode]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("node", "type", "status", "seconds"):
        table.add_column(column, justify="right" if column == "seconds" else "left")
    for node in nodes:
        table.add_row(node.result.model_name, node.result.resource_type, node.result.status, f"{node.seconds:.2f}")
    return table


def render_terminal(data: ReportData, slowest: int = 10) -> Group:
    """A renderable summary of ``data``."""
    report = data.report
    outcome = report.outcome or "unknown"
    counts = ", ".join(f"{count} {status}" for status, count in sorted(data.counts.items())) or "no nodes"
    head = Text.assemble(
        (f"{data.package.get('project_name') or 'dbt'} ", "bold"), (outcome, STYLES.get(outcome, "")),
        f"  {report.call or ''} · {len(report.results)} node(s): {counts} · wall {data.wall_seconds:.1f}s · "
        f"critical path {data.critical_seconds:.1f}s",
    )
    parts: list[object] = [head, Text(f"record {data.name}", style="dim")]
    if data.critical_path:
        parts.append(Text("critical path: " + " → ".join(n.result.model_name for n in data.critical_path)))
    if data.nodes:
        parts.append(_nodes(f"{slowest} slowest", data.slowest(slowest)))
    for failure in data.failures:
        parts.append(Text.assemble((f"✗ {failure.model_name} [{failure.status}] ", "bold red"),
                                   (failure.message or "").strip().splitlines()[0] if failure.message else ""))
    if report.error and not data.failures:
        parts.append(Text(f"stopped: {report.error.splitlines()[0]}", style="yellow"))
    if data.running:
        parts.append(Text(f"running when it stopped: {', '.join(data.running)}", style="yellow"))
    return Group(*parts)  # type: ignore[arg-type]
