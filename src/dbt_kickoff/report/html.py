"""One self-contained HTML page per run, made for debugging a failure: what broke (dbt's whole message), what it
took down, how to resume; every node in a table with a status filter and search; warnings; a zoomed timeline;
the critical path (for a failure: the path to it); the steps with their command lines; the destination and
the record's ``dbt.log``. No external reference (no CDN, font or remote script): it opens offline, in a browser
or as a CI artifact; its one small inline script filters the node table.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from dbt_kickoff.redaction import is_secret_key
from dbt_kickoff.report.model import NodeRow, ReportData, TimelineNode
from dbt_kickoff.report.outcome import CallOutcome
from dbt_kickoff.report.timeline import color, render_timeline, seconds_text

OUTCOME_COLORS = {"success": "#2f9e44", "failed": "#e03131", "cancelled": "#f59f00", "timeout": "#f59f00",
                  "error": "#e03131"}
STATUS_ORDER = ("error", "fail", "runtime error", "warn", "skipped", "success", "pass")
NAMES_SHOWN = 60
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
th{background:#f1f3f5;position:sticky;top:0}td.num{text-align:right;font-variant-numeric:tabular-nums}
.bar{height:10px;background:#4c6ef5;border-radius:2px}
.timeline{background:#fff;border:1px solid #dee2e6;border-radius:8px;overflow-x:auto}
.box{background:#fff;border:1px solid #dee2e6;border-left:4px solid #4c6ef5;border-radius:4px;padding:8px 12px;
margin:8px 0}
.failure{border-left-color:#e03131}.warning{border-left-color:#f59f00}.changed{border-left-color:#7048e8}
pre{white-space:pre-wrap;margin:6px 0 0;font-size:12px;color:#862e2e;overflow-wrap:anywhere}
code{font-size:12px;background:#f1f3f5;padding:1px 4px;border-radius:3px;overflow-wrap:anywhere}
.resume code{font-size:14px;user-select:all}
.legend span{display:inline-block;margin-right:14px;font-size:12px}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px;vertical-align:middle}
.filters{display:flex;gap:14px;flex-wrap:wrap;align-items:center;margin:6px 0}
.filters input[type=search]{padding:4px 8px;min-width:280px;border:1px solid #ced4da;border-radius:4px}
details summary{cursor:pointer}td details pre{color:#495057}
td.msg{max-width:520px;overflow-wrap:anywhere}
"""
SCRIPT = """
(function(){
var q=document.getElementById('search'),boxes=[].slice.call(document.querySelectorAll('input.status')),
rows=[].slice.call(document.querySelectorAll('#node-table tbody tr')),shown=document.getElementById('shown'),
texts=rows.map(function(r){return r.textContent.toLowerCase();});
if(!q){return;}
function apply(){var t=q.value.trim().toLowerCase(),on={},n=0;
boxes.forEach(function(b){on[b.value]=b.checked;});
rows.forEach(function(r,i){var v=on[r.getAttribute('data-status')]!==false&&(!t||texts[i].indexOf(t)>=0);
r.hidden=!v;if(v){n++;}});shown.textContent=n;}
q.addEventListener('input',apply);boxes.forEach(function(b){b.addEventListener('change',apply);});apply();
})();
"""


def _names(items: list[Any], limit: int = NAMES_SHOWN) -> str:
    names = ", ".join(escape(item.model_name) for item in items[:limit])
    return names + (f" … and {len(items) - limit} more" if len(items) > limit else "")


def _message_cell(message: str | None) -> str:
    text = (message or "").strip()
    first = text.splitlines()[0] if text else ""
    if text == first:
        return f'<td class="msg">{escape(text)}</td>'
    return f'<td class="msg"><details><summary>{escape(first)}</summary><pre>{escape(text)}</pre></details></td>'


def _node_table(rows: list[NodeRow]) -> str:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.result.status] = counts.get(row.result.status, 0) + 1
    order = sorted(counts, key=lambda s: (STATUS_ORDER.index(s) if s in STATUS_ORDER else len(STATUS_ORDER), s))
    boxes = "".join(f'<label><input type="checkbox" class="status" value="{escape(s)}" checked> '
                    f'<span style="color:{color(s)}">{escape(s)}</span> ({counts[s]})</label>' for s in order)
    reasons = any(row.result.reason for row in rows)
    head = ("<tr><th>node</th><th>type</th><th>status</th><th>step</th><th>start</th><th>seconds</th><th>rows</th>"
            + ("<th>why built</th>" if reasons else "") + "<th>message</th></tr>")
    body = []
    for row in rows:
        r = row.result
        body.append(
            f'<tr data-status="{escape(r.status)}"><td title="{escape(r.unique_id)}">{escape(r.model_name)}</td>'
            f"<td>{escape(r.resource_type)}</td><td style=\"color:{color(r.status)}\">{escape(r.status)}</td>"
            f"<td>{row.step}. {escape(row.command)}</td>"
            f"<td class=\"num\">{'' if row.start is None else f'{row.start:.2f}'}</td>"
            f'<td class="num">{row.seconds:.2f}</td>'
            f"<td class=\"num\">{'' if r.rows_affected is None else r.rows_affected}</td>"
            + (f"<td>{escape(r.reason or '')}</td>" if reasons else "")
            + _message_cell(r.message) + "</tr>"
        )
    return (f'<div class="filters"><input id="search" type="search" placeholder="search names, ids, messages">'
            f'{boxes}<span><b id="shown">all</b> of {len(rows)} shown</span></div>'
            f'<table id="node-table"><thead>{head}</thead><tbody>{"".join(body)}</tbody></table>')


def _timed_table(nodes: list[TimelineNode]) -> str:
    if not nodes:
        return "<p>No nodes.</p>"
    longest = max(node.seconds for node in nodes) or 1.0
    rows = "".join(
        f"<tr><td>{escape(n.result.model_name)}</td><td>{escape(n.result.resource_type)}</td>"
        f'<td style="color:{color(n.result.status)}">{escape(n.result.status)}</td><td>{escape(n.command)}</td>'
        f'<td class="num">{n.seconds:.2f}</td><td style="width:30%"><div class="bar" '
        f'style="width:{100 * n.seconds / longest:.1f}%"></div></td></tr>'
        for n in nodes
    )
    return ("<table><tr><th>node</th><th>type</th><th>status</th><th>step</th><th>seconds</th><th></th></tr>"
            + rows + "</table>")


def _failures(data: ReportData, outcome: CallOutcome | None) -> str:
    if outcome is None or not outcome.failures:
        if data.report.error:
            running = (f"<p>Running when it stopped: {escape(', '.join(data.running))}</p>" if data.running else "")
            return (f"<div class='box failure'><b>The call stopped</b><pre>{escape(data.report.error)}</pre>"
                    f"{running}</div>")
        return "<p>No failures.</p>"
    blocks = []
    for failure in outcome.failures:
        r = failure.result
        took = (f"<p>Took down {len(failure.took_down)}: {_names(failure.took_down)}</p>" if failure.took_down
                else "")
        blocks.append(f"<div class='box failure'><b>{escape(r.model_name)}</b> <small>{escape(r.resource_type)} · "
                      f"{escape(r.status)} · <code>{escape(r.unique_id)}</code></small>"
                      f"<pre>{escape((r.message or '').strip())}</pre>{took}</div>")
    return "".join(blocks)


def _skipped(outcome: CallOutcome | None) -> str:
    if outcome is None or not (outcome.skipped or outcome.steps_not_run):
        return "<p>Nothing was skipped.</p>"
    items = [f"<li><b>{escape(f.result.model_name)}</b> ({escape(f.result.status)}) took down "
             f"{len(f.took_down)}: {_names(f.took_down)}</li>" for f in outcome.failures if f.took_down]
    if outcome.skipped_otherwise:
        fail_fast = all("fail_fast" in (r.message or "") for r in outcome.skipped_otherwise)
        label = "skipped by --fail-fast (downstream of no failure)" if fail_fast else "skipped"
        items.append(f"<li>{label} ({len(outcome.skipped_otherwise)}): {_names(outcome.skipped_otherwise)}</li>")
    if outcome.steps_not_run:
        items.append(f"<li>steps not run: <b>{escape(', '.join(outcome.steps_not_run))}</b></li>")
    return f"<ul>{''.join(items)}</ul>"


def _warnings(data: ReportData) -> str:
    if not data.warnings:
        return "<p>No warnings.</p>"
    return "".join(f"<div class='box warning'><b>{escape(where)}</b><pre>{escape(text.strip())}</pre></div>"
                   for where, text in data.warnings)


def _changed(data: ReportData) -> str:
    changed = data.report.changed
    if changed is None:
        return ""
    unchanged = (f"<details><summary>{changed.unchanged_count} left unchanged</summary><p>"
                 f"{escape(', '.join(uid.split('.')[-1] for uid in changed.unchanged))}</p></details>"
                 if changed.unchanged else "")
    reasons = "".join(f"<li>{escape(reason)}: {count}</li>" for reason, count in
                      sorted(changed.reasons.items(), key=lambda item: -item[1]))
    baseline = f"<p>compared with the run {escape(changed.baseline)}</p>" if changed.baseline else ""
    return (f"<div class='box changed' id='changed'><b>changed-only call</b> — {escape(changed.describe())}"
            f"{baseline}{f'<ul>{reasons}</ul>' if reasons else ''}{unchanged}</div>")


def _destination(destination: Mapping[str, Any]) -> str:
    output = destination.get("output") or {}
    shown = {k: v for k, v in output.items() if not is_secret_key(str(k)) and "env_var(" not in str(v)}
    fields = " ".join(f"{escape(str(k))}=<code>{escape(str(v))}</code>" for k, v in shown.items())
    kind = destination.get("type") or ("the package's profiles.yml" if not output else "")
    return f"{escape(str(kind))} {fields}".strip()


def _resume(data: ReportData, outcome: CallOutcome | None, log_href: str | None) -> str:
    parts = []
    if outcome is not None and outcome.resume:
        parts.append(f"<div class='box resume failure' id='resume'>resume with: <code>{escape(outcome.resume)}"
                     "</code></div>")
    links = [f"record <code>{escape(outcome.record if outcome and outcome.record else data.name)}</code>"]
    if log_href:
        links.append(f'<a id="dbt-log" href="{escape(log_href)}">dbt.log</a> (dbt\'s log lines of this call)')
    parts.append(f"<p class='meta'>{' · '.join(links)}</p>")
    return "".join(parts)


def _call_line(data: ReportData) -> str:
    params = {k: v for k, v in data.params.items() if v not in (None, False, {}, [], ())}
    shown = ", ".join(f"{k}={v!r}" for k, v in params.items())
    return f"{data.report.call or 'call'}({shown})"


def render_html(data: ReportData, log_href: str | None = None) -> str:
    """The page for ``data`` as one string; ``log_href`` links the record's ``dbt.log``."""
    report = data.report
    outcome_name = report.outcome or "unknown"
    identity: dict[str, Any] = dict(data.identity)
    outcome = data.outcome
    path_label = "path to the failure" if data.path_to_failure else "critical path"
    cards = [("nodes", str(len(data.rows))), ("wall time", seconds_text(data.wall_seconds)),
             (path_label, seconds_text(data.critical_seconds))]
    cards += [(status, str(count)) for status, count in sorted(data.counts.items())]
    meta = [
        ("call", report.call or ""), ("started", report.started_at.strftime("%Y-%m-%d %H:%M:%S UTC")
                                      if report.started_at else ""),
        ("dbt", identity.get("dbt_version") or ""), ("target", identity.get("target") or ""),
        ("commit", (report.commit_sha or "")[:12]),
    ]
    steps = "".join(
        f"<tr><td>{i}</td><td>{escape(cmd)}</td><td class='num'>{seconds_text(end - start)}</td>"
        f"<td style='color:{'#2f9e44' if ok else '#e03131' if ok is False else '#868e96'}'>"
        f"{'ok' if ok else 'failed' if ok is False else '—'}</td>"
        f"<td><code>dbt {escape(' '.join(report.steps[i - 1].args))}</code></td></tr>"
        for i, (cmd, start, end, ok) in enumerate(data.steps, start=1)
    )
    legend = "".join(f"<span><i style='background:{c}'></i>{s}</span>"
                     for s, c in (("success / pass", "#2f9e44"), ("warn", "#f59f00"), ("error / fail", "#e03131"),
                                  ("skipped", "#adb5bd")))
    legend += ("<span><i style='background:#e7f5ff'></i>dbt step</span><span><i style='background:#dee2e6'></i>"
               "no node running (start-up, parse…; long ones drawn narrow)</span><span>outlined: "
               f"{path_label}</span>")
    project = data.package.get("project_name") or "dbt run"
    headline = outcome.headline(report.call) if outcome is not None and outcome.failed else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>dbt run {escape(project)} · {escape(outcome_name)}</title>
<style>{CSS}</style></head>
<body><main>
<h1>{escape(project)} <span class="badge" id="outcome"
 style="background:{OUTCOME_COLORS.get(outcome_name, '#868e96')}">{escape(outcome_name)}</span></h1>
<p class="meta">{''.join(f'<span>{escape(k)}: <b>{escape(str(v))}</b></span>' for k, v in meta if v)}</p>
<p class="meta" id="call"><span>call: <code>{escape(_call_line(data))}</code></span>
<span>destination: {_destination(data.destination)}</span></p>
{f'<p><b>{escape(headline)}</b></p>' if headline else ''}
{_resume(data, outcome, log_href)}
<div class="cards" id="summary">{''.join(f'<div class="card"><b>{escape(v)}</b><small>{escape(k)}</small></div>'
                                         for k, v in cards)}</div>
{_changed(data)}
<h2 id="failures">Failures</h2>{_failures(data, outcome)}
<h2 id="skipped">Skipped and not run</h2>{_skipped(outcome)}
<h2 id="warnings">Warnings</h2>{_warnings(data)}
<h2>Timeline</h2><p class="legend">{legend}</p>
<div class="timeline" id="timeline">{render_timeline(data)}</div>
<h2 id="critical-path">{path_label.capitalize()} ({seconds_text(data.critical_seconds)} of \
{seconds_text(data.wall_seconds)})</h2>
{_timed_table(data.critical_path)}
<h2 id="nodes">All nodes ({len(data.rows)})</h2>{_node_table(data.rows) if data.rows else '<p>No nodes.</p>'}
<h2 id="slowest">Slowest nodes</h2>{_timed_table(data.slowest(20))}
<h2 id="steps">Steps</h2><table><tr><th>#</th><th>dbt command</th><th>time</th><th>result</th>
<th>command line</th></tr>{steps}</table>
</main><script>{SCRIPT}</script></body></html>
"""
