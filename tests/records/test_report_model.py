"""The report's contents from a report.json: critical path through the DAG, slowest nodes, lanes, HTML."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from dbt_kickoff.report import build_report_data, render_html

T0 = datetime(2026, 12, 1, 12, tzinfo=timezone.utc)


def _node(name: str, start: float, end: float, thread: int, status: str = "success") -> dict[str, Any]:
    return {"model_name": name, "unique_id": f"model.p.{name}", "resource_type": "model", "status": status,
            "time": end - start, "message": "boom <b>" if status == "error" else None,
            "thread_id": f"Thread-{thread} (worker)", "started_at": (T0 + timedelta(seconds=start)).isoformat(),
            "completed_at": (T0 + timedelta(seconds=end)).isoformat()}


def test_critical_path_follows_dependencies_not_just_the_longest_nodes() -> None:
    # a(1s) -> b(3s) -> d(1s); a -> c(4s); c is the slowest node but a->b->d (5s) is the longest chain
    nodes = [_node("a", 0, 1, 1), _node("b", 1, 4, 1), _node("c", 1, 5, 2), _node("d", 4, 5.5, 1, "error")]
    data = {"call": "build", "outcome": "failed", "started_at": T0.isoformat(),
            "steps": [{"command": "build", "duration": 6, "started_at": T0.isoformat(), "results": nodes}]}
    parents = {"model.p.b": ["model.p.a"], "model.p.c": ["model.p.a"], "model.p.d": ["model.p.b"]}
    shown = build_report_data("r", data, {"parent_map": parents})
    assert [n.result.model_name for n in shown.critical_path] == ["a", "b", "d"]
    assert shown.critical_seconds == 5.5
    assert [n.result.model_name for n in shown.slowest(2)] == ["c", "b"]
    assert shown.lanes == ["1. build · Thread-1", "1. build · Thread-2"]
    html = render_html(shown)
    assert "boom &lt;b&gt;" in html and "<b>" not in html.split("boom")[1][:10]  # dbt's text is escaped
    assert html.count('class="node"') == 4
