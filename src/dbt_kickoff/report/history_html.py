"""The history page of a package: one self-contained HTML file over its last records — call durations and
outcomes per run, failure streaks, the slowest-growing models, and every node's duration over time (a
sparkline per node, with a status filter and search). No external reference."""

from __future__ import annotations

from html import escape

from dbt_kickoff.report.history import SUCCESS_STATUSES, HistoryData, NodeHistory, RunSummary
from dbt_kickoff.report.html import CSS, OUTCOME_COLORS, SCRIPT
from dbt_kickoff.report.timeline import color, seconds_text
from dbt_kickoff.results import FAILURE_STATUSES

SPARK_WIDTH = 220
SPARK_HEIGHT = 26
RUN_CHART_HEIGHT = 120
HISTORY_CSS = """
.runs{background:#fff;border:1px solid #dee2e6;border-radius:8px;overflow-x:auto;padding:6px}
td svg{display:block}
"""


def _when(run: RunSummary) -> str:
    return run.started_at.strftime("%Y-%m-%d %H:%M") if run.started_at else run.name[:15]


def _runs_chart(runs: list[RunSummary]) -> str:
    """One bar per run: its duration (height) and outcome (colour)."""
    longest = max((run.duration or 0.0 for run in runs), default=0.0) or 1.0
    step = max(8, min(60, 1100 // max(len(runs), 1)))
    width = max(step * len(runs) + 60, 420)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{RUN_CHART_HEIGHT + 30}" '
             'font-family="system-ui,sans-serif" font-size="10" role="img" aria-label="runs">',
             f'<text x="0" y="10" fill="#868e96">{seconds_text(longest)}</text>']
    for i, run in enumerate(runs):
        height = max(2.0, RUN_CHART_HEIGHT * (run.duration or 0.0) / longest)
        x = 50 + i * step
        title = escape(f"{_when(run)} {run.call or ''} {run.outcome or ''} "
                       f"{seconds_text(run.duration or 0.0)} · {run.name}")
        parts.append(f'<rect class="run" x="{x}" y="{14 + RUN_CHART_HEIGHT - height:.1f}" width="{step - 2}" '
                     f'height="{height:.1f}" fill="{OUTCOME_COLORS.get(run.outcome or "", "#868e96")}">'
                     f"<title>{title}</title></rect>")
    if runs:
        end = 50 + step * len(runs)
        parts.append(f'<text x="50" y="{RUN_CHART_HEIGHT + 28}" fill="#868e96">{escape(_when(runs[0]))}</text>')
        if end - 50 > 200:  # room for both dates
            parts.append(f'<text x="{end}" y="{RUN_CHART_HEIGHT + 28}" text-anchor="end" fill="#868e96">'
                         f"{escape(_when(runs[-1]))}</text>")
    parts.append("</svg>")
    return "".join(parts)


def sparkline(node: NodeHistory) -> str:
    """The node's seconds per run as a line; a dot in its status colour where it did not succeed, and on the
    newest run."""
    points = [(i, run) for i, run in enumerate(node.runs) if run is not None]
    if not points:
        return ""
    top = max(seconds for _, (_, seconds) in points) or 1.0
    count = max(len(node.runs) - 1, 1)

    def xy(i: int, seconds: float) -> tuple[float, float]:
        return 3 + (SPARK_WIDTH - 6) * i / count, SPARK_HEIGHT - 3 - (SPARK_HEIGHT - 6) * seconds / top

    line = " ".join(f"{x:.0f},{y:.1f}" for x, y in (xy(i, s) for i, (_, s) in points))
    marked = [(i, run) for n, (i, run) in enumerate(points) if run[0] not in SUCCESS_STATUSES or n == len(points) - 1]
    dots = "".join(  # only what is not a success, and the newest run: the line says the rest
        f'<circle cx="{x:.0f}" cy="{y:.1f}" r="{2.4 if status in FAILURE_STATUSES else 1.8}" '
        f'fill="{color(status)}"/>'
        for x, y, status in ((*xy(i, s), status) for i, (status, s) in marked)
    )
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{SPARK_WIDTH}" height="{SPARK_HEIGHT}">'
            f'<polyline points="{line}" fill="none" stroke="#4c6ef5" stroke-width="1.2"/>{dots}</svg>')


def _streaks(data: HistoryData) -> str:
    failing = data.streaks()
    if not failing:
        return "<p>No node is failing in its newest runs.</p>"
    rows = "".join(
        f"<tr><td>{escape(n.name)}</td><td>{escape(n.resource_type)}</td>"
        f'<td class="num"><b>{n.failure_streak}</b></td><td class="num">{n.longest_streak}</td>'
        f'<td class="num">{n.failures} of {len(n.present)}</td><td>{sparkline(n)}</td></tr>'
        for n in failing
    )
    return ("<table id='streak-table'><tr><th>node</th><th>type</th><th>failing runs in a row (now)</th>"
            f"<th>longest streak</th><th>failed</th><th>seconds per run</th></tr>{rows}</table>")


def _growing(data: HistoryData) -> str:
    rising = data.growing()
    if not rising:
        return "<p>No model's run time grows over these runs.</p>"
    rows = []
    for n in rising:
        durations = n.durations
        ratio = n.growth_ratio
        rows.append(
            f"<tr><td>{escape(n.name)}</td><td>{escape(n.resource_type)}</td>"
            f'<td class="num">+{n.growth:.3f}</td><td class="num">{durations[0]:.2f}</td>'
            f'<td class="num">{durations[-1]:.2f}</td>'
            f"<td class=\"num\">{'' if ratio is None else f'{ratio:.2f}x'}</td><td>{sparkline(n)}</td></tr>"
        )
    return ("<table id='growing-table'><tr><th>node</th><th>type</th><th>seconds gained per run</th>"
            "<th>first (s)</th><th>newest (s)</th><th>newest / median before</th><th>seconds per run</th></tr>"
            + "".join(rows) + "</table>")


def _node_table(data: HistoryData) -> str:
    counts: dict[str, int] = {}
    for node in data.nodes:
        status = node.last[0] if node.last else "absent"
        counts[status] = counts.get(status, 0) + 1
    boxes = "".join(f'<label><input type="checkbox" class="status" value="{escape(s)}" checked> '
                    f'<span style="color:{color(s)}">{escape(s)}</span> ({c})</label>'
                    for s, c in sorted(counts.items()))
    rows = []
    for node in data.nodes:
        last = node.last
        durations = node.durations
        median = f"{sorted(durations)[len(durations) // 2]:.2f}" if durations else ""
        rows.append(
            f'<tr data-status="{escape(last[0] if last else "absent")}"><td title="{escape(node.unique_id)}">'
            f"{escape(node.name)}</td><td>{escape(node.resource_type)}</td>"
            f"<td style=\"color:{color(last[0] if last else '')}\">{escape(last[0] if last else '')}</td>"
            f"<td class=\"num\">{'' if last is None else f'{last[1]:.2f}'}</td><td class=\"num\">{median}</td>"
            f'<td class="num">{len(node.present)}</td><td class="num">{node.failures}</td>'
            f"<td>{sparkline(node)}</td></tr>"
        )
    return (f'<div class="filters"><input id="search" type="search" placeholder="search nodes">{boxes}'
            f'<span><b id="shown">all</b> of {len(rows)} shown</span></div>'
            "<table id='node-table'><thead><tr><th>node</th><th>type</th><th>newest status</th><th>newest (s)</th>"
            "<th>median (s)</th><th>runs</th><th>failed</th><th>seconds per run (oldest → newest)</th></tr>"
            f"</thead><tbody>{''.join(rows)}</tbody></table>")


def render_history_html(data: HistoryData) -> str:
    """The history page for ``data`` as one string."""
    runs = data.runs
    failed = sum(run.outcome not in ("success", None) for run in runs)
    span = f"{_when(runs[0])} → {_when(runs[-1])}" if runs else "no runs"
    run_rows = "".join(
        f"<tr><td>{escape(_when(run))}</td><td>{escape(run.call or '')}</td>"
        f"<td style=\"color:{OUTCOME_COLORS.get(run.outcome or '', '#868e96')}\">{escape(run.outcome or '')}</td>"
        f'<td class="num">{seconds_text(run.duration or 0.0)}</td><td class="num">{run.nodes}</td>'
        f"<td><code>{escape(run.name)}</code></td></tr>"
        for run in reversed(runs)
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>dbt history {escape(data.project)}</title>
<style>{CSS}{HISTORY_CSS}</style></head>
<body><main>
<h1>{escape(data.project)} <small>history of the last {len(runs)} run(s)</small></h1>
<p class="meta"><span>{escape(span)}</span><span>failed: <b>{failed}</b> of {len(runs)}</span>
<span>nodes seen: <b>{len(data.nodes)}</b></span></p>
<h2 id="runs">Runs (duration; colour: outcome)</h2><div class="runs">{_runs_chart(runs)}</div>
<h2 id="streaks">Failure streaks</h2>{_streaks(data)}
<h2 id="growing">Slowest-growing models</h2>{_growing(data)}
<h2 id="nodes">Every node over time ({len(data.nodes)})</h2>{_node_table(data)}
<h2 id="records">Records</h2><table><tr><th>started (UTC)</th><th>call</th><th>outcome</th><th>duration</th>
<th>nodes</th><th>name</th></tr>{run_rows}</table>
</main><script>{SCRIPT}</script></body></html>
"""
