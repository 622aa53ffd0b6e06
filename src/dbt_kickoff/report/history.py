"""The history of a package over its last records: each node's duration and status per run, failure streaks
and the models whose run time grows the most (the input of the history page)."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dbt_kickoff.results import FAILURE_STATUSES, parse_timestamp

SUCCESS_STATUSES = frozenset({"success", "pass"})


@dataclass(frozen=True)
class RunSummary:
    """One record of the history: when, which call, how it ended and how long it took."""

    name: str
    started_at: datetime | None
    call: str | None
    outcome: str | None
    duration: float | None
    nodes: int


@dataclass
class NodeHistory:
    """One node across the runs: ``runs[i]`` is its (status, seconds) in run ``i`` (oldest first), ``None``
    when that run did not have it."""

    unique_id: str
    name: str
    resource_type: str
    runs: list[tuple[str, float] | None] = field(default_factory=list)

    @property
    def present(self) -> list[tuple[str, float]]:
        return [run for run in self.runs if run is not None]

    @property
    def last(self) -> tuple[str, float] | None:
        present = self.present
        return present[-1] if present else None

    @property
    def failure_streak(self) -> int:
        """How many of the newest runs that had this node it failed in a row (0: its last run did not fail)."""
        streak = 0
        for status, _ in reversed(self.present):
            if status not in FAILURE_STATUSES:
                break
            streak += 1
        return streak

    @property
    def longest_streak(self) -> int:
        longest = current = 0
        for status, _ in self.present:
            current = current + 1 if status in FAILURE_STATUSES else 0
            longest = max(longest, current)
        return longest

    @property
    def failures(self) -> int:
        return sum(status in FAILURE_STATUSES for status, _ in self.present)

    @property
    def durations(self) -> list[float]:
        """Seconds of the runs in which it succeeded (a failure's time says little about its cost)."""
        return [seconds for status, seconds in self.present if status in SUCCESS_STATUSES]

    @property
    def growth(self) -> float:
        """Seconds gained per run: the least-squares slope of its successful durations (0 with fewer than 3)."""
        values = self.durations
        if len(values) < 3:
            return 0.0
        xs = range(len(values))
        mean_x, mean_y = statistics.fmean(xs), statistics.fmean(values)
        spread = sum((x - mean_x) ** 2 for x in xs)
        return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, values, strict=True)) / spread if spread else 0.0

    @property
    def growth_ratio(self) -> float | None:
        """The newest successful duration over the median of the earlier ones (``None`` when unknown)."""
        values = self.durations
        if len(values) < 2:
            return None
        before = statistics.median(values[:-1])
        return values[-1] / before if before > 0 else None


@dataclass
class HistoryData:
    """Runs (oldest first) and every node seen in them."""

    project: str
    runs: list[RunSummary]
    nodes: list[NodeHistory]

    def streaks(self) -> list[NodeHistory]:
        """Nodes failing now (in their newest runs), longest streak first."""
        failing = [node for node in self.nodes if node.failure_streak]
        return sorted(failing, key=lambda n: (-n.failure_streak, n.name))

    def growing(self, n: int = 15, min_gain: float = 0.01) -> list[NodeHistory]:
        """The ``n`` nodes whose duration grows fastest (at least ``min_gain`` seconds per run)."""
        rising = [node for node in self.nodes if node.growth >= min_gain]
        return sorted(rising, key=lambda node: -node.growth)[:n]


def build_history(project: str, records: Sequence[tuple[str, Mapping[str, Any]]]) -> HistoryData:
    """The history of ``records`` (``(name, report.json)`` pairs, in any order; shown oldest first)."""
    ordered = sorted(records, key=lambda item: item[0])
    runs: list[RunSummary] = []
    nodes: dict[str, NodeHistory] = {}
    for index, (name, data) in enumerate(ordered):
        results = [r for step in data.get("steps") or () for r in step.get("results") or ()]
        runs.append(RunSummary(name=name, started_at=parse_timestamp(data.get("started_at")),
                               call=data.get("call"), outcome=data.get("outcome"),
                               duration=data.get("duration"), nodes=len(results)))
        for result in results:
            uid = str(result.get("unique_id") or "")
            if not uid:
                continue
            node = nodes.get(uid)
            if node is None:
                node = nodes[uid] = NodeHistory(unique_id=uid, name=str(result.get("model_name") or uid),
                                                resource_type=str(result.get("resource_type") or ""))
            node.runs.extend([None] * (index + 1 - len(node.runs)))
            node.runs[index] = (str(result.get("status") or ""), float(result.get("time") or 0.0))
    for node in nodes.values():
        node.runs.extend([None] * (len(runs) - len(node.runs)))
    ordered_nodes = sorted(nodes.values(), key=lambda n: (-(n.last[1] if n.last else 0.0), n.name))
    return HistoryData(project=project, runs=runs, nodes=ordered_nodes)
