"""What a run report shows, computed from a record: every node, the timeline (node bars and the phases in
which no node ran: dbt's start-up and parse, a changed-only decision), the critical path (for a failed call: the
path to the failure), warnings, and the failure side of the call (:mod:`dbt_kickoff.report.outcome`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dbt_kickoff.report.outcome import CallOutcome, call_outcome
from dbt_kickoff.reports import RunReport
from dbt_kickoff.results import NodeResult


@dataclass(frozen=True)
class TimelineNode:
    """One node on the timeline: which step and thread ran it, and when (seconds from the call's start)."""

    result: NodeResult
    step: int
    command: str
    lane: str
    start: float
    end: float

    @property
    def seconds(self) -> float:
        return max(0.0, self.end - self.start)


@dataclass(frozen=True)
class Phase:
    """A stretch of the call in which no node ran (dbt starting and parsing, a changed-only decision...)."""

    label: str
    start: float
    end: float
    step: str | None = None
    """The dbt command of the step it belongs to (its label starts with ``dbt <command>: ``)."""

    @property
    def seconds(self) -> float:
        return max(0.0, self.end - self.start)


@dataclass(frozen=True)
class NodeRow:
    """One row of the node table: a result, the step that produced it, and when it ran (``None``: no timing)."""

    result: NodeResult
    step: int
    command: str
    start: float | None
    seconds: float


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
    path_to_failure: bool = False
    """True when ``critical_path`` is the longest chain of nodes ending at a failing node (a failed call)."""
    steps: list[tuple[str, float, float, bool | None]] = field(default_factory=list)
    """(command, start, end, success) per step, in seconds from the call's start."""
    running: list[str] = field(default_factory=list)
    """Nodes that were running when the run was stopped (cancel, timeout)."""
    phases: list[Phase] = field(default_factory=list)
    rows: list[NodeRow] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    """(where, message): dbt's warnings per step and each node that ended in ``warn``."""
    outcome: CallOutcome | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def counts(self) -> Counter[str]:
        return Counter(row.result.status for row in self.rows)

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


def critical_path(nodes: list[TimelineNode], parents: Mapping[str, list[str]],
                  ending_at: set[str] | None = None) -> list[TimelineNode]:
    """The chain of dependent nodes whose run times add up to the most: the run cannot be shorter than it.
    With ``ending_at`` (the failing nodes of a failed call): the longest chain that ends at one of them."""
    by_id = {node.result.unique_id: node for node in nodes}
    best: dict[str, float] = {}
    previous: dict[str, str | None] = {}
    for node in sorted(nodes, key=lambda n: (n.start, n.end)):  # a parent ends before its child starts
        uid = node.result.unique_id
        candidates = [(best[p], p) for p in parents.get(uid, ()) if p in best and by_id[p].end <= node.start + 1e-3]
        top = max(candidates, default=(0.0, None))
        best[uid] = node.seconds + top[0]
        previous[uid] = top[1]
    tails = [uid for uid in best if ending_at is None or uid in ending_at]
    if not tails:
        return []
    tail: str | None = max(tails, key=lambda uid: best[uid])
    path: list[TimelineNode] = []
    while tail is not None:
        path.append(by_id[tail])
        tail = previous[tail]
    return path[::-1]


def _phases(report: RunReport, nodes: list[TimelineNode], steps: list[tuple[str, float, float, bool | None]],
            wall: float) -> list[Phase]:
    """The stretches without a running node: before the first step (a changed-only decision, or preparing the
    package and profile), dbt's start-up and parse at the start of each step, its wrap-up at the end."""
    phases: list[Phase] = []
    first_step = min((start for _, start, _, _ in steps), default=wall)
    if first_step > 0.05:
        label = "changed-only decision" if report.changed is not None else "preparing (package, profile)"
        phases.append(Phase(label, 0.0, first_step))
    for index, (command, start, end, _) in enumerate(steps, start=1):
        own = [n for n in nodes if n.step == index]
        if not own:
            phases.append(Phase(f"dbt {command}", start, end, command))
            continue
        first, last = min(n.start for n in own), max(n.end for n in own)
        if first - start > 0.05:
            parsed = report.steps[index - 1].parsed
            what = "start-up & parse" if parsed else "start-up (parsed manifest reused)"
            phases.append(Phase(f"dbt {command}: {what}", start, first, command))
        if end - last > 0.05:
            phases.append(Phase(f"dbt {command}: wrap-up", last, end, command))
    return phases


def _warnings(report: RunReport) -> list[tuple[str, str]]:
    """Each node that ended in ``warn`` with its message, then dbt's other warnings per step (its lines about
    those nodes — result line, summary, message — are left out: the node says it once)."""
    warned = [r for r in report.results if r.status == "warn"]
    found = [(f"{r.resource_type} {r.model_name}", r.message or "warn") for r in warned]
    about = {r.model_name for r in warned} | {(r.message or "").strip() for r in warned}
    for step in report.steps:
        for text in step.warnings:
            if not any(mark and mark in text for mark in about):
                found.append((f"dbt {step.command}", text))
    return found


def build_report_data(name: str, data: Mapping[str, Any], manifest: Mapping[str, Any] | None,
                      record_uri: str | None = None) -> ReportData:
    """The report of a record: ``data`` is its report.json, ``manifest`` its manifest.json (for the DAG);
    ``record_uri`` where the record is (for the resume command), when it is not the one ``data`` names."""
    report = RunReport.from_dict(data)
    stamps: list[datetime] = [r.started_at for r in report.results if r.started_at is not None]
    stamps += [step.started_at for step in report.steps if step.started_at is not None]
    origin = report.started_at or min(stamps, default=None)
    if origin is not None and stamps and min(stamps) < origin:
        origin = min(stamps)
    nodes: list[TimelineNode] = []
    rows: list[NodeRow] = []
    steps: list[tuple[str, float, float, bool | None]] = []

    def offset(moment: datetime | None) -> float:
        return (moment - origin).total_seconds() if moment is not None and origin is not None else 0.0

    for index, step in enumerate(report.steps, start=1):
        step_start = offset(step.started_at)
        steps.append((step.command, step_start, step_start + step.duration, step.success))
        for result in step.results:
            timed = result.started_at is not None and result.completed_at is not None
            if timed:
                lane = f"{index}. {step.command} · {(result.thread_id or 'main').split(' ')[0]}"
                nodes.append(TimelineNode(result=result, step=index, command=step.command, lane=lane,
                                          start=offset(result.started_at), end=offset(result.completed_at)))
            rows.append(NodeRow(result=result, step=index, command=step.command,
                                start=offset(result.started_at) if timed else None,
                                seconds=nodes[-1].seconds if timed else result.time))
    lanes = sorted({node.lane for node in nodes}, key=lambda lane: (int(lane.split(".")[0]), _thread_no(lane)))
    ends = [offset(report.finished_at) if report.finished_at else 0.0, *(n.end for n in nodes),
            *(s[2] for s in steps)]
    wall = max([*ends, float(data.get("duration") or 0.0)], default=0.0)
    failing = {n.result.unique_id for n in nodes if n.result.is_failure}
    parents = _parents(manifest)
    path = critical_path(nodes, parents, failing) if failing else []
    outcome = call_outcome({**data, "record": record_uri or data.get("record")}, manifest)
    return ReportData(
        name=name, report=report, identity=data.get("identity") or {}, package=data.get("package") or {},
        destination=data.get("destination") or {}, wall_seconds=wall, nodes=nodes, lanes=lanes,
        critical_path=path or critical_path(nodes, parents), path_to_failure=bool(path), steps=steps,
        running=list(data.get("running") or ()), phases=_phases(report, nodes, steps, wall), rows=rows,
        warnings=_warnings(report), outcome=outcome, params=data.get("params") or {},
    )


def _thread_no(lane: str) -> int:
    digits = "".join(ch for ch in lane.rsplit("-", 1)[-1] if ch.isdigit())
    return int(digits) if digits else 0
