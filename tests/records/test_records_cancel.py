"""A cancelled run (runner.cancel() from another thread) is recorded with what finished and what was running,
and retry() runs the call again."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import dbt_kickoff
from dbt_kickoff.engines import DbtEvent
from dbt_kickoff.errors import DbtCancelled
from dbt_kickoff.records import open_record
from dbt_kickoff.report import report_data

SLOW = "select count(*) as n from range(40000000000) t(x) where x % 7 = 3\n"


def test_cancelled_run_is_recorded_and_retried(shop: tuple[Path, Path], tmp_path: Path) -> None:
    project, database = shop
    (project / "models" / "slow.sql").write_text(
        "{{ config(materialized='table') }}\n-- depends_on: {{ ref('countries') }}\n" + SLOW)
    records = tmp_path / "records"
    holder: dict[str, dbt_kickoff.PackageRunner] = {}
    fired: list[bool] = []

    def on_event(event: DbtEvent) -> None:
        if event.name == "NodeStart" and event.node is not None and event.node.name == "slow" and not fired:
            fired.append(True)  # the first run only: the retry must go through
            threading.Timer(1.0, holder["runner"].cancel, args=("stopped by the test",)).start()

    runner = dbt_kickoff.package(f"duckdb:///{database}", project, source_dataset_name="raw_data",
                                 records=records, on_event=on_event, cancel_grace=2.0)
    holder["runner"] = runner
    with runner:
        with pytest.raises(DbtCancelled):
            runner.build(["--select", "countries", "slow"])
        record = open_record("latest", records)
        assert record.outcome == "cancelled" and runner.last_report.outcome == "cancelled"
        assert "slow" in record.data["running"]
        shown = report_data(record)
        assert shown.running == record.data["running"]
        assert any(r.model_name == "countries" and r.status == "success" for r in record.report.results)

        (project / "models" / "slow.sql").write_text("{{ config(materialized='table') }}\nselect 1 as n\n")
        results = runner.retry()
        assert {r.model_name: r.status for r in results} == {"countries": "success", "slow": "success"}
        assert open_record("latest", records).outcome == "success"
