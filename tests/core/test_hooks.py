"""Hooks observe every call at four named points, under one guard; a call reads its project once."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

import dbt_kickoff
from dbt_kickoff import fingerprint


class Journal(dbt_kickoff.CallHooks):
    """Writes down every point it is called at."""

    name = "journal"

    def __init__(self) -> None:
        self.entries: list[str] = []

    def call_started(self, call: dbt_kickoff.Call) -> None:
        self.entries.append(f"started {call.name} {call.project.name}")

    def before_dbt(self, call: dbt_kickoff.Call) -> None:
        self.entries.append(f"before dbt ({len(call.report.steps)} steps)")

    def step_done(self, call: dbt_kickoff.Call, step: dbt_kickoff.StepReport) -> None:
        self.entries.append(f"step {step.command} {step.success}")

    def call_finished(self, call: dbt_kickoff.Call, error: BaseException | None) -> None:
        self.entries.append(f"finished {call.report.outcome} {type(error).__name__ if error else None}")


class Broken(dbt_kickoff.CallHooks):
    name = "broken observer"

    def __init__(self) -> None:
        self.calls = 0

    def step_done(self, call: dbt_kickoff.Call, step: dbt_kickoff.StepReport) -> None:
        self.calls += 1
        raise RuntimeError("observer bug")


def test_hooks_see_each_point_in_order_and_a_failing_one_never_fails_the_run(
    shop_project: Path, shop_duckdb: Path, caplog: pytest.LogCaptureFixture
) -> None:
    journal, broken = Journal(), Broken()
    with dbt_kickoff.package(f"duckdb:///{shop_duckdb}", shop_project, source_dataset_name="raw_data",
                             records=False, hooks=[broken, journal]) as runner:
        with caplog.at_level(logging.WARNING, logger="dbt_kickoff"):
            results = runner.run_all()
        assert {r.status for r in results} <= {"success", "pass"}
        assert journal.entries == ["started run_all shop", "before dbt (0 steps)", "step seed True",
                                   "step run True", "step test True", "finished success None"]
        assert broken.calls == 1  # not called again during that call
        warnings = [r.getMessage() for r in caplog.records if "broken observer" in r.getMessage()]
        assert len(warnings) == 1 and "observer bug" in warnings[0] and "not affected" in warnings[0]

        journal.entries.clear()
        nothing = runner.transform_loaded([])
        assert nothing == [] and nothing.skipped == "nothing loaded"
        assert journal.entries == []  # no call was opened: no hook runs

        runner.build(["--select", "stg_orders"])
        assert broken.calls == 2  # a new call calls it again
        assert journal.entries[-1] == "finished success None"


def test_a_changed_only_call_reads_the_project_once(shop_project: Path, shop_duckdb: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    sources = shop_project / "models" / "sources.yml"
    sources.write_text(sources.read_text().replace(
        "      - name: orders\n",
        "      - name: orders\n        loaded_at_field: cast(created_at as timestamp)\n"
        "        freshness: {warn_after: {count: 1000, period: day}}\n"))
    with dbt_kickoff.package(f"duckdb:///{shop_duckdb}", shop_project, source_dataset_name="raw_data",
                             records=tmp_path / "records") as runner:
        runner.build(changed_only=True)  # no record yet: a full build, and sources are measured from now on
        runner.build()  # the first build found no manifest to measure the sources' freshness with
        reads: list[str] = []
        walks: list[str] = []
        safe_load, walk = yaml.safe_load, os.walk

        def counting_load(stream: Any) -> Any:
            text = stream if isinstance(stream, str) else ""
            if "config-version" in text:
                reads.append("dbt_project.yml")
            return safe_load(stream)

        def counting_walk(top: Any, *args: Any, **kwargs: Any) -> Any:
            walks.append(str(top))
            return walk(top, *args, **kwargs)

        monkeypatch.setattr(yaml, "safe_load", counting_load)
        monkeypatch.setattr(fingerprint.os, "walk", counting_walk)
        results = runner.build(changed_only=True)
        assert results == [] and results.skipped == "nothing changed"
        assert reads == ["dbt_project.yml"]
        assert walks == [str(shop_project.resolve())]
