"""One self-contained HTML page per run: summary, a per-thread timeline (SVG), critical path, slowest nodes and
failures. No script, no font, no CDN: it opens offline, in a browser or as a CI artifact."""

from __future__ import annotations

from html import escape
from typing import Any

from dbt_kickoff.report.model import ReportData, TimelineNode

COLORS = {"success": "#2f9e44", "pass": "#2f9e44", "warn": "#f59f00", "skipped": "#adb5bd",
          "error": "#e03131", "fail": "#e03131", "runtime error": "#e03131"}
OUTCOME_COLORS = {"success": "#2f9e44", "failed": "#e03131", "cancelled": "#f59f00", "timeout": "#f59f00",
                  "error": "#e03131"}
CSS = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#212529;background:#f8f9fa}
main{max-width:1280px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.badge{display:inline-block;padding:2px 10px;border-radius:12px;color:#fff;font-weight:600;font-size:13px}
.meta{color:#495057;margin:4px 0 0}.meta span{margin-right:18px}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin-top:16px}
.card{background:#fff;border:1px solid #dee2e6;border-radius:8px;padding:10px 16px;min-width:110px}
.card b{display:block;font-size:22px}.card small{color:#6c757d}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #dee2e6}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #e9ecef;font-size:13px;vertical-align:top}
th{background:#f1f3f5}td.num{text-align:right;font-variant-numeric:tabular-nums}
.bar{height:10px;background:#4c6ef5;border-radius:2px}
.timeline{background:#fff;border:1px solid #dee2e6;border-radius:8px;overflow-x:auto}
.failure{background:#fff;border-left:4px solid #e03131;padding:8px 12px;margin:8px 0}
pre{white-space:pre-wrap;margin:6px 0 0;font-size:12px;color:#862e2e}
.legend span{display:inline-block;margin-right:14px;font-size:12px}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px;vertical-align:middle}
"""
STEP_LEGEND = ("<span><i style='background:#e7f5ff'></i>dbt step (start, parse, nodes)</span>"
               "<span>outlined: on the critical path</span>")
LABEL_WIDTH = 190
CHART_WIDTH = 1000
ROW = 18


def _color(status: str) -> str:
    return COLORS.get(status, "#868e96")


def _seconds(value: float) -> str:
    return f"{value:.2f}s" if value < 60 else f"{int(value // 60)}m{value % 60:04.1f}s"


def _timeline(data: ReportData) -> str:
    if not data.nodes:
        return "<p>dbt reported no node timings for this run.</p>"
    span = max(data.wall_seconds, 1e-6)
    scale = CHART_WIDTH / span
    lane_index = {lane: i for i, lane in enumerate(data.lanes)}
    critical = {node.result.unique_id for node in data.critical_path}
    height = (len(data.lanes) + 1) * ROW + 24
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{LABEL_WIDTH + CHART_WIDTH + 20}" height="{height}" '
             'font-family="system-ui,sans-serif" font-size="11" role="img" aria-label="timeline">']
    for lane, i in lane_index.items():
        y = 20 + i * ROW
        fill = "#f8f9fa" if i % 2 else "#ffffff"
        parts.append(f'<rect class="lane" x="0" y="{y}" width="{LABEL_WIDTH + CHART_WIDTH + 20}" height="{ROW}" '
                     f'fill="{fill}"/>'
                     f'<text x="6" y="{y + 13}" fill="#495057">{escape(lane)}</text>')
    ticks = 10
    for t in range(ticks + 1):
        x = LABEL_WIDTH + t * CHART_WIDTH / ticks
        parts.append(f'<line x1="{x:.1f}" y1="16" x2="{x:.1f}" y2="{height - 4}" stroke="#e9ecef"/>'
                     f'<text x="{x:.1f}" y="12" text-anchor="{"end" if t == ticks else "middle"}" fill="#868e96">'
                     f'{_seconds(span * t / ticks)}</text>')
    for number, (command, start, end, _) in enumerate(data.steps, start=1):
        rows = [i for lane, i in lane_index.items() if lane.startswith(f"{number}. ")]
        if rows:  # the step's whole span: the time dbt spent before and around its nodes shows as a band
            parts.append(f'<rect class="step" x="{LABEL_WIDTH + start * scale:.1f}" y="{20 + min(rows) * ROW + 1}" '
                         f'width="{max((end - start) * scale, 1.5):.1f}" height="{len(rows) * ROW - 2}" '
                         f'fill="#e7f5ff"><title>{escape(command)} {end - start:.2f}s</title></rect>')
    for node in data.nodes:
        x = LABEL_WIDTH + node.start * scale
        width = max(node.seconds * scale, 1.5)
        y = 20 + lane_index[node.lane] * ROW + 3
        stroke = ' stroke="#1c1c1c" stroke-width="1.5"' if node.result.unique_id in critical else ""
        title = escape(f"{node.result.model_name} ({node.result.resource_type}) {node.result.status} "
                       f"{node.seconds:.2f}s")
        parts.append(f'<rect class="node" x="{x:.1f}" y="{y}" width="{width:.1f}" height="{ROW - 6}" rx="2" '
                     f'fill="{_color(node.result.status)}"{stroke}><title>{title}</title></rect>')
    parts.append("</svg>")
    return "".join(parts)


def _node_rows(nodes: list[TimelineNode], longest: float) -> str:
    rows = []
    for node in nodes:
        r = node.result
        width = 100 * node.seconds / longest if longest else 0
        rows.append(
            f"<tr><td>{escape(r.model_name)}</td><td>{escape(r.resource_type)}</td>"
            f'<td style="color:{_color(r.status)}">{escape(r.status)}</td><td>{escape(node.command)}</td>'
            f'<td class="num">{node.seconds:.2f}</td><td style="width:30%"><div class="bar" '
            f'style="width:{width:.1f}%"></div></td></tr>'
        )
    return "".join(rows)


def _table(nodes: list[TimelineNode]) -> str:
    if not nodes:
        return "<p>No nodes.</p>"
    longest = max(node.seconds for node in nodes)
    return ("<table><tr><th>node</th><th>type</th><th>status</th><th>step</th><th>seconds</th><th></th></tr>"
            + _node_rows(nodes, longest) + "</table>")


def render_html(data: ReportData) -> str:
    """The page for ``data`` as one string."""
    report = data.report
    outcome = report.outcome or "unknown"
    identity: dict[str, Any] = dict(data.identity)
    counts = data.counts
    cards = [("nodes", str(len(report.results))), ("wall time", _seconds(data.wall_seconds)),
             ("critical path", _seconds(data.critical_seconds))]
    cards += [(status, str(count)) for status, count in sorted(counts.items())]
    meta = [
        ("call", report.call or ""), ("started", report.started_at.strftime("%Y-%m-%d %H:%M:%S UTC")
                                      if report.started_at else ""),
        ("dbt", identity.get("dbt_version") or ""), ("target", identity.get("target") or ""),
        ("destination", data.destination.get("type") or ""), ("commit", (report.commit_sha or "")[:12]),
    ]
    steps = "".join(
        f"<tr><td>{i}</td><td>{escape(cmd)}</td><td class='num'>{_seconds(end - start)}</td>"
        f"<td style='color:{'#2f9e44' if ok else '#e03131' if ok is False else '#868e96'}'>"
        f"{'ok' if ok else 'failed' if ok is False else '—'}</td></tr>"
        for i, (cmd, start, end, ok) in enumerate(data.steps, start=1)
    )
    failures = "".join(
        f"<div class='failure'><b>{escape(r.model_name)}</b> <small>{escape(r.resource_type)} · "
        f"{escape(r.status)}</small><pre>{escape((r.message or '').strip())}</pre></div>"
        for r in data.failures
    ) or "<p>No failures.</p>"
    running = f"<p>Running when it stopped: {escape(', '.join(data.running))}</p>" if data.running else ""
    error = (f"<div class='failure'><b>The run stopped</b><pre>{escape(report.error)}</pre>{running}</div>"
             if report.error and not data.failures else "")
    legend = "".join(f"<span><i style='background:{c}'></i>{s}</span>"
                     for s, c in (("success / pass", "#2f9e44"), ("warn", "#f59f00"), ("error / fail", "#e03131"),
                                  ("skipped", "#adb5bd")))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>dbt run {escape(data.package.get('project_name') or '')} · {escape(outcome)}</title>
<style>{CSS}</style></head>
<body><main>
<h1>{escape(data.package.get('project_name') or 'dbt run')} <span class="badge" id="outcome"
 style="background:{OUTCOME_COLORS.get(outcome, '#868e96')}">{escape(outcome)}</span></h1>
<p class="meta">{''.join(f'<span>{escape(k)}: <b>{escape(str(v))}</b></span>' for k, v in meta if v)}</p>
<p class="meta"><span>record: {escape(data.name)}</span></p>
<div class="cards" id="summary">{''.join(f'<div class="card"><b>{escape(v)}</b><small>{escape(k)}</small></div>'
                                         for k, v in cards)}</div>
{error}
<h2 id="failures">Failures</h2>{failures}
<h2>Timeline</h2><p class="legend">{legend}{STEP_LEGEND}</p>
<div class="timeline" id="timeline">{_timeline(data)}</div>
<h2 id="critical-path">Critical path ({_seconds(data.critical_seconds)} of {_seconds(data.wall_seconds)})</h2>
{_table(data.critical_path)}
<h2 id="slowest">Slowest nodes</h2>{_table(data.slowest(20))}
<h2>Steps</h2><table><tr><th>#</th><th>dbt command</th><th>time</th><th>result</th></tr>{steps}</table>
</main></body></html>
"""
