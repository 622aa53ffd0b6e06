"""What a run report shows, computed from a record: timeline rows, critical path, slowest nodes, failures."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dbt_kickoff.reports import RunReport
from dbt_kickoff.results import NodeResult


@dataclass(frozen=True)
class TimelineNode:
    """One node on the timeline: which step and thread ran it, and when (seconds from the run's start)."""

    result: NodeResult
    step: int
    command: str
    lane: str
    start: float
    end: float

    @property
    def seconds(self) -> float:
        return max(0.0, self.end - self.start)


@dataclass
class ReportData:
    """Everything the HTML and terminal reports show."""

    name: str
    report: RunReport
    identity: Mapping[str, Any]
    package: Mapping[str, Any]
    destination: Mapping[str, Any]
    wall_seconds: float
    nodes: list[TimelineNode] = field(default_factory=list)
    lanes: list[str] = field(default_factory=list)
    critical_path: list[TimelineNode] = field(default_factory=list)
    steps: list[tuple[str, float, float, bool | None]] = field(default_factory=list)
    """(command, start, end, success) per step, in seconds from the run's start."""
    running: list[str] = field(default_factory=list)
    """Nodes that were running when the run was stopped (cancel, timeout)."""

    @property
    def counts(self) -> Counter[str]:
        return Counter(node.result.status for node in self.nodes) + Counter(
            r.status for r in self.report.results if r.started_at is None
        )

    @property
    def failures(self) -> list[NodeResult]:
        return [r for r in self.report.results if r.is_failure]

    def slowest(self, n: int = 20) -> list[TimelineNode]:
        return sorted(self.nodes, key=lambda node: node.seconds, reverse=True)[:n]

    @property
    def critical_seconds(self) -> float:
        return sum(node.seconds for node in self.critical_path)


def _parents(manifest: Mapping[str, Any] | None) -> dict[str, list[str]]:
    if not manifest:
        return {}
    if manifest.get("parent_map"):
        return {k: list(v) for k, v in manifest["parent_map"].items()}
    parents: dict[str, list[str]] = {}
    for section in ("nodes", "sources", "snapshots"):
        for unique_id, node in (manifest.get(section) or {}).items():
            parents[unique_id] = list((node.get("depends_on") or {}).get("nodes") or ())
    return parents


def critical_path(nodes: list[TimelineNode], parents: Mapping[str, list[str]]) -> list[TimelineNode]:
    """The chain of dependent nodes whose run times add up to the most: the run cannot be shorter than it."""
    by_id = {node.result.unique_id: node for node in nodes}
    best: dict[str, float] = {}
    previous: dict[str, str | None] = {}
    for node in sorted(nodes, key=lambda n: (n.start, n.end)):  # a parent ends before its child starts
        uid = node.result.unique_id
        candidates = [(best[p], p) for p in parents.get(uid, ()) if p in best and by_id[p].end <= node.start + 1e-3]
        top = max(candidates, default=(0.0, None))
        best[uid] = node.seconds + top[0]
        previous[uid] = top[1]
    if not best:
        return []
    tail: str | None = max(best, key=lambda uid: best[uid])
    path: list[TimelineNode] = []
    while tail is not None:
        path.append(by_id[tail])
        tail = previous[tail]
    return path[::-1]


def build_report_data(name: str, data: Mapping[str, Any], manifest: Mapping[str, Any] | None) -> ReportData:
    """The report of a record: ``data`` is its report.json, ``manifest`` its manifest.json (for the DAG)."""
    report = RunReport.from_dict(data)
    stamps: list[datetime] = [r.started_at for r in report.results if r.started_at is not None]
    stamps += [step.started_at for step in report.steps if step.started_at is not None]
    origin = min(stamps, default=None) or report.started_at
    end = report.finished_at
    nodes: list[TimelineNode] = []
    steps: list[tuple[str, float, float, bool | None]] = []

    def offset(moment: datetime | None) -> float:
        return (moment - origin).total_seconds() if moment is not None and origin is not None else 0.0

    for index, step in enumerate(report.steps, start=1):
        step_start = offset(step.started_at)
        steps.append((step.command, step_start, step_start + step.duration, step.success))
        for result in step.results:
            if result.started_at is None or result.completed_at is None:
                continue
            lane = f"{index}. {step.command} · {(result.thread_id or 'main').split(' ')[0]}"
            nodes.append(TimelineNode(result=result, step=index, command=step.command, lane=lane,
                                      start=offset(result.started_at), end=offset(result.completed_at)))
    lanes = sorted({node.lane for node in nodes}, key=lambda lane: (int(lane.split(".")[0]), _thread_no(lane)))
    wall = max([offset(end) if end else 0.0, *(n.end for n in nodes), *(s[2] for s in steps)], default=0.0)
    return ReportData(
        name=name, report=report, identity=data.get("identity") or {}, package=data.get("package") or {},
        destination=data.get("destination") or {}, wall_seconds=wall, nodes=nodes, lanes=lanes,
        critical_path=critical_path(nodes, _parents(manifest)), steps=steps, running=list(data.get("running") or ()),
    )


def _thread_no(lane: str) -> int:
    digits = "".join(ch for ch in lane.rsplit("-", 1)[-1] if ch.isdigit())
    return int(digits) if digits else 0
