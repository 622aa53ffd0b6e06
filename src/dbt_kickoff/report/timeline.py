"""The report's timeline as SVG: one lane per step and thread, node bars on a zoomed time axis.

dbt's start-up and parse (and a changed-only decision) often take most of a short call. Drawn to scale they
squeeze the nodes into a strip, so every stretch in which no node runs and that would take more than
:data:`GAP_PX` pixels is drawn :data:`GAP_PX` wide, as one labelled segment; the node sections share the rest.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import Counter
from html import escape

from dbt_kickoff.report.model import ReportData

COLORS = {"success": "#2f9e44", "pass": "#2f9e44", "warn": "#f59f00", "skipped": "#adb5bd",
          "error": "#e03131", "fail": "#e03131", "runtime error": "#e03131"}
LABEL_WIDTH = 190
MIN_CHART_WIDTH = 1000
MAX_CHART_WIDTH = 6000
PX_PER_BAR = 14
"""Chart width per bar of the busiest lane (wider charts scroll), so that more bars have room for a label."""
GAP_PX = 120
ROW = 18
CHAR_PX = 6.3
"""Width of one character of the 10px bar labels (system-ui), to decide whether a label fits in its bar."""


def color(status: str) -> str:
    return COLORS.get(status, "#868e96")


def seconds_text(value: float) -> str:
    return f"{value:.2f}s" if value < 60 else f"{int(value // 60)}m{value % 60:04.1f}s"


class Axis:
    """Seconds -> x: linear inside busy stretches, idle stretches wider than ``gap_px`` drawn ``gap_px`` wide."""

    def __init__(self, wall: float, busy: list[tuple[float, float]], width: float, gap_px: float = GAP_PX) -> None:
        self.wall = max(wall, 1e-6)
        merged: list[list[float]] = []
        for start, end in sorted(busy):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        edges = [0.0] + [t for interval in merged for t in interval] + [self.wall]
        gaps = [(edges[i], edges[i + 1]) for i in range(0, len(edges) - 1, 2) if edges[i + 1] > edges[i]]
        compressed: set[tuple[float, float]] = set()
        while True:  # compressing a gap widens the scale of the rest, which may make another gap too wide
            linear = self.wall - sum(end - start for start, end in compressed)
            scale = (width - gap_px * len(compressed)) / max(linear, 1e-6)
            wider = {g for g in gaps if g not in compressed and (g[1] - g[0]) * scale > gap_px}
            if not wider or not merged:
                break
            compressed |= wider
        self.gaps = sorted(compressed)
        self.scale = scale
        self._times, self._xs = [0.0], [0.0]  # breakpoints of the piecewise linear mapping
        for start, end in self.gaps:
            self._xs.append(self._xs[-1] + (start - self._times[-1]) * scale)
            self._times.append(start)
            self._xs.append(self._xs[-1] + gap_px)
            self._times.append(end)
        self._xs.append(self._xs[-1] + (self.wall - self._times[-1]) * scale)
        self._times.append(self.wall)

    def x(self, seconds: float) -> float:
        i = min(max(bisect_right(self._times, seconds) - 1, 0), len(self._times) - 2)
        t0, t1, x0, x1 = self._times[i], self._times[i + 1], self._xs[i], self._xs[i + 1]
        return x0 + (x1 - x0) * ((seconds - t0) / (t1 - t0) if t1 > t0 else 0.0)

    def in_gap(self, seconds: float) -> bool:
        return any(start < seconds < end for start, end in self.gaps)

    def ticks(self, labels: int = 10) -> list[float]:
        """Round times for tick labels, none inside a compressed gap."""
        busy = self.wall - sum(end - start for start, end in self.gaps)
        raw = max(busy / labels, 1e-3)
        step = min((m * 10 ** math.floor(math.log10(raw)) for m in (1, 2, 5, 10)), key=lambda s: abs(s - raw))
        count = int(self.wall / step)
        if count > 2000:
            return [0.0, self.wall]
        return [i * step for i in range(count + 1) if not self.in_gap(i * step)] + [self.wall]


def chart_width(data: ReportData) -> int:
    busiest = max(Counter(node.lane for node in data.nodes).values(), default=0)
    return int(min(MAX_CHART_WIDTH, max(MIN_CHART_WIDTH, busiest * PX_PER_BAR)))


def render_timeline(data: ReportData) -> str:
    """The timeline SVG of ``data`` (or a sentence when dbt reported no node timings)."""
    if not data.nodes:
        return "<p>dbt reported no node timings for this run.</p>"
    width = chart_width(data)
    axis = Axis(data.wall_seconds, [(n.start, n.end) for n in data.nodes], width)
    lane_index = {lane: i for i, lane in enumerate(data.lanes)}
    critical = {node.result.unique_id for node in data.critical_path}
    top = 34
    height = top + len(data.lanes) * ROW + 8
    full = LABEL_WIDTH + width + 20

    def x(seconds: float) -> float:
        return LABEL_WIDTH + axis.x(seconds)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{full}" height="{height}" '
             'font-family="system-ui,sans-serif" font-size="11" role="img" aria-label="timeline">'
             '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
             'patternTransform="rotate(45)"><rect width="6" height="6" fill="#f1f3f5"/>'
             '<line x1="0" y1="0" x2="0" y2="6" stroke="#dee2e6" stroke-width="3"/></pattern></defs>']
    for lane, i in lane_index.items():
        y = top + i * ROW
        parts.append(f'<rect class="lane" x="0" y="{y}" width="{full}" height="{ROW}" '
                     f'fill="{"#f8f9fa" if i % 2 else "#ffffff"}"/>'
                     f'<text x="6" y="{y + 13}" fill="#495057">{escape(lane)}</text>')
    shown: list[float] = []
    for t in axis.ticks():
        px = x(t)
        if shown and px - shown[-1] < 56:
            continue
        shown.append(px)
        parts.append(f'<line x1="{px:.1f}" y1="{top - 4}" x2="{px:.1f}" y2="{height - 4}" stroke="#e9ecef"/>'
                     f'<text x="{px:.1f}" y="{top - 8}" text-anchor="middle" fill="#868e96">'
                     f'{seconds_text(t)}</text>')
    for number, (command, start, end, _) in enumerate(data.steps, start=1):
        rows = [i for lane, i in lane_index.items() if lane.startswith(f"{number}. ")]
        if rows:  # the step's whole span, behind its nodes
            parts.append(f'<rect class="step" x="{x(start):.1f}" y="{top + min(rows) * ROW + 1}" '
                         f'width="{max(x(end) - x(start), 1.5):.1f}" height="{len(rows) * ROW - 2}" '
                         f'fill="#e7f5ff"><title>{escape(command)} {end - start:.2f}s</title></rect>')
    for phase in data.phases:
        left, right = x(phase.start), x(phase.end)
        if right - left < 2:
            continue
        label = f"{phase.label} {seconds_text(phase.seconds)}"
        middle = top + len(data.lanes) * ROW / 2
        parts.append(f'<rect class="phase" x="{left:.1f}" y="{top}" width="{right - left:.1f}" '
                     f'height="{len(data.lanes) * ROW}" fill="url(#hatch)" opacity="0.9"><title>{escape(label)}'
                     f'</title></rect>')
        if len(data.lanes) >= 2:  # the label in two lines: what, and how long
            parts.append(_fitted_label(phase.label.removeprefix(f"dbt {phase.step}: ") if phase.step else
                                       phase.label, left, right, middle - 2, "#343a40", wrap=True))
            parts.append(_fitted_label(seconds_text(phase.seconds), left, right, middle + 10, "#343a40", wrap=True))
        else:
            parts.append(_fitted_label(label, left, right, middle + 4, "#343a40", wrap=True))
    for node in data.nodes:
        left, right = x(node.start), x(node.end)
        bar = max(right - left, 1.5)
        y = top + lane_index[node.lane] * ROW + 3
        stroke = ' stroke="#1c1c1c" stroke-width="1.5"' if node.result.unique_id in critical else ""
        title = escape(f"{node.result.model_name} ({node.result.resource_type}) {node.result.status} "
                       f"{node.seconds:.2f}s")
        parts.append(f'<rect class="node" x="{left:.1f}" y="{y}" width="{bar:.1f}" height="{ROW - 6}" rx="2" '
                     f'fill="{color(node.result.status)}"{stroke}><title>{title}</title></rect>')
        parts.append(_fitted_label(node.result.model_name, left, left + bar, y + 10, "#ffffff"))
    for start, end in axis.gaps:  # a compressed stretch: two short break marks on the axis
        for edge in (start, end):
            px = x(edge)
            parts.append(f'<line x1="{px:.1f}" y1="{top - 4}" x2="{px:.1f}" y2="{top + 2}" stroke="#868e96"/>')
    parts.append("</svg>")
    return "".join(parts)


def _fitted_label(text: str, left: float, right: float, y: float, fill: str, wrap: bool = False) -> str:
    """The label inside [left, right] when it fits (phases: shortened to what fits), else nothing."""
    room = right - left - 6
    if room < CHAR_PX * 3:
        return ""
    if len(text) * CHAR_PX > room:
        if not wrap:
            return ""
        text = text[: max(int(room / CHAR_PX) - 1, 1)] + "…"
    return (f'<text class="label" x="{left + 3:.1f}" y="{y:.1f}" fill="{fill}" font-size="10" '
            f'pointer-events="none">{escape(text)}</text>')
