"""The pure parts of changed-only builds: report round trip, reasons per node, freshness rule, complete runs,
bad input."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

import dbt_kickoff
from dbt_kickoff.changed.history import is_complete
from dbt_kickoff.changed.loaded_at import NEVER_LOADED, as_utc, freshness_sql, measurable_here
from dbt_kickoff.changed.selection import Criterion, Listed, ManifestGraph, reasons_by_node
from dbt_kickoff.changed.sources import Source, freshness_reasons, loaded_at_in
from dbt_kickoff.records import Record, RecordStore
from dbt_kickoff.reports import ChangeSummary, RunReport, StepReport
from dbt_kickoff.results import NodeResult


def test_reasons_and_decision_survive_the_report_json() -> None:
    result = NodeResult("stg", "model.p.stg", "model", "success", 1.0, None, reason="code changed")
    report = RunReport(steps=[StepReport("build", [result], 1.0)],
                       changed=ChangeSummary(baseline="r1", reasons={"code changed": 1}, unchanged=["model.p.b"],
                                             decision_seconds=0.25, snapshot={"fingerprint": "f"}))
    again = RunReport.from_dict(report.to_dict())
    assert again.results[0].reason == "code changed"
    assert again.changed == report.changed and again.to_dict()["changed"]["unchanged_count"] == 1
    assert "1 code changed" in report.changed.describe()  # type: ignore[union-attr]


def test_first_criterion_wins_and_sources_name_the_upstream_source() -> None:
    graph = {
        "state:modified+": [Listed("model.p.b", "b", "model", ("model.p.a",))],
        "source:s.x+ source:s.y+": [
            Listed("source.p.s.x", "x", "source"), Listed("model.p.a", "a", "model", ("source.p.s.x",)),
            Listed("model.p.b", "b", "model", ("model.p.a",)),
            Listed("model.p.c", "c", "model", ("source.p.s.y", "model.p.a")),
            Listed("test.p.t", "t", "test", ("model.p.c",)),
        ],
    }
    criteria = [Criterion("code changed", ("state:modified+",), needs_state=True),
                Criterion("source changed", ("source:s.x+", "source:s.y+"),
                          by_source={"source.p.s.x": "new dlt load in raw.x", "source.p.s.y": "source s.y fresher"})]
    asked: list[tuple[tuple[str, ...], bool]] = []

    def ls(selectors: object, with_state: bool) -> list[Listed]:
        asked.append((tuple(selectors), with_state))  # type: ignore[arg-type]
        return graph[" ".join(selectors)]  # type: ignore[arg-type]

    reasons = {uid: reason for uid, (reason, _) in reasons_by_node(criteria, ls).items()}
    assert reasons == {"model.p.b": "code changed", "model.p.a": "new dlt load in raw.x",
                       "model.p.c": "new dlt load in raw.x", "test.p.t": "new dlt load in raw.x"}
    assert asked == [(("state:modified+",), True), (("source:s.x+", "source:s.y+"), False)]


def test_freshness_rule_builds_when_it_cannot_tell() -> None:
    sources = [Source(f"source.p.s.{n}", "s", n, "raw", n, True) for n in ("a", "b", "c", "d", "e")]

    def doc(**times: str | None) -> dict[str, datetime | None]:
        return loaded_at_in({"results": [{"unique_id": f"source.p.s.{n}", "status": "pass" if t else "runtime error",
                                          "max_loaded_at": t} for n, t in times.items()]})

    before = doc(a="2026-11-01T00:00:00Z", b="2026-11-01T00:00:00Z", c=None, e="2026-11-01T00:00:00+01:00")
    now = doc(a="2026-11-02T00:00:00Z", b="2026-11-01T00:00:00+00:00", c="2026-11-01T00:00:00Z", d=None,
              e="2026-10-31T22:00:00Z")
    assert freshness_reasons(sources, before, now) == {
        "source.p.s.a": "source s.a fresher",
        "source.p.s.c": "source s.c fresher",  # not measured last time
        "source.p.s.d": "source s.d cannot be checked (its freshness query failed)",
        "source.p.s.e": "source s.e changed (its newest loaded_at went back)",
    }
    assert set(freshness_reasons(sources[:1], None, now)) == {"source.p.s.a"}


@pytest.mark.parametrize(("call", "params", "outcome", "complete"), [
    ("build", {"cmd_params": []}, "success", True),
    ("run_all", {"run_params": ["--fail-fast"]}, "success", True),
    ("build", {"cmd_params": ["--select", "a"]}, "success", False),
    ("build", {"cmd_params": ["--exclude=a"]}, "success", False),
    ("build", {"changed_only": True, "cmd_params": []}, "success", True),
    ("build", {"cmd_params": []}, "failed", False),
    ("run", {"cmd_params": []}, "success", False),
])
def test_complete_runs(tmp_path: Path, call: str, params: dict[str, object], outcome: str, complete: bool) -> None:
    record = Record("r", RecordStore(tmp_path), {"call": call, "params": params, "outcome": outcome, "steps": []})
    assert is_complete(record) is complete


def test_bad_changed_only_input(shop_project: Path, shop_duckdb: Path) -> None:
    with pytest.raises(dbt_kickoff.KickoffError, match="always_build"):
        dbt_kickoff.package(f"duckdb:///{shop_duckdb}", shop_project, always_build="", warm_start=False)
    with dbt_kickoff.package(f"duckdb:///{shop_duckdb}", shop_project, warm_start=False) as runner:
        with pytest.raises(dbt_kickoff.KickoffError, match="changed_only"):
            runner.build(changed_only="yes")  # type: ignore[arg-type]
        with pytest.raises(dbt_kickoff.KickoffError, match="chooses the nodes itself"):
            runner.build(["--select", "stg_orders"], changed_only=True)
        assert runner.session.engine is None


def test_loaded_at_follows_dbts_rules() -> None:
    assert as_utc(datetime(2026, 11, 1, 10)) == datetime(2026, 11, 1, 10, tzinfo=timezone.utc)  # naive: UTC
    assert as_utc(datetime(2026, 11, 1, 10, tzinfo=timezone(timedelta(hours=2)))) == datetime(
        2026, 11, 1, 8, tzinfo=timezone.utc)
    assert as_utc(None) == NEVER_LOADED and as_utc(date(2026, 11, 1)) is None and as_utc("2026-11-01") is None
    plain = Source("source.p.s.a", "s", "a", "raw", "a", True, '"db"."raw"."a"', "loaded_at", None, "x > 1")
    assert measurable_here(plain) and freshness_sql(plain) == 'select max(loaded_at) from "db"."raw"."a" where x > 1'
    for unmeasurable in (dataclasses.replace(plain, loaded_at_query="select 1"),
                         dataclasses.replace(plain, freshness_filter="{{ var('x') }}"),
                         dataclasses.replace(plain, relation_name=None),
                         dataclasses.replace(plain, has_freshness=False)):
        assert not measurable_here(unmeasurable)


def test_graph_selection_on_the_manifest() -> None:
    def node(kind: str, *parents: str) -> dict[str, object]:
        return {"name": kind, "resource_type": kind, "depends_on": {"nodes": list(parents)}}

    manifest = {"sources": {"source.p.s.x": {"source_name": "s", "name": "x"}},
                "nodes": {"model.p.a": node("model", "source.p.s.x"), "model.p.b": node("model", "model.p.a"),
                          "model.p.c": node("model"), "test.p.t": node("test", "model.p.b", "model.p.c")}}
    graph = ManifestGraph(manifest, {"model.p.c": "error", "model.p.gone": "error"})
    assert [n.unique_id for n in graph.select(["source:s.x+"]) or ()] == [
        "source.p.s.x", "model.p.a", "model.p.b", "test.p.t"]
    assert [n.unique_id for n in graph.select(["result:error+"]) or ()] == ["model.p.c", "test.p.t"]
    assert graph.select(["source:s.unknown+"]) == []
    for other in (["source:s.x"], ["tag:x+"], ["source:s.x+", "path:models+"], ["+source:s.x"]):
        assert graph.select(other) is None, other  # left to dbt ls
