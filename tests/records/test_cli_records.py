"""``dbt-kickoff report`` and ``retry`` on real records; a timed-out run is recorded and retried whole."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import dbt_kickoff
from dbt_kickoff.errors import DbtCancelled, DBTProcessingError
from dbt_kickoff.records import open_record


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dbt_kickoff.cli.main", *args], capture_output=True, text=True,
                          timeout=600)


def test_timeout_is_recorded_then_retried_from_the_command_line(shop: tuple[Path, Path], tmp_path: Path) -> None:
    project, database = shop
    records = tmp_path / "records"
    with dbt_kickoff.package(f"duckdb:///{database}", project, source_dataset_name="raw_data", records=records,
                             command_timeout=0.05) as runner, pytest.raises(DbtCancelled):
        runner.build()
    record = open_record("latest", records)
    assert record.outcome == "timeout" and "timed out" in (record.data["error"] or "")

    shown = _cli("report", "--records", str(records))
    assert shown.returncode == 0, shown.stderr
    assert "timeout" in shown.stderr and (Path(record.uri) / "report.html").is_file()

    retried = _cli("retry", "latest", "--records", str(records), "--json")
    assert retried.returncode == 0, retried.stderr
    payload = json.loads(retried.stdout)
    assert payload["call"] == "retry" and payload["outcome"] == "success"
    # dbt retry when the stopped build left results, else the step again, whole
    assert [s["command"] for s in payload["steps"]] in (["retry"], ["build"])
    assert {r["status"] for s in payload["steps"] for r in s["results"]} <= {"success", "pass"}

    again = _cli("retry", "latest", "--records", str(records))
    assert again.returncode == 0 and "nothing to retry" in again.stderr


def test_report_on_a_missing_or_half_written_record_is_a_clear_error(tmp_path: Path) -> None:
    missing = _cli("report", str(tmp_path / "nope"))
    assert missing.returncode == 2 and "there is no record" in missing.stderr
    empty = _cli("report", "latest", "--records", str(tmp_path / "empty"))
    assert empty.returncode == 2 and "no run records" in empty.stderr
    half = tmp_path / "records" / "20261201T120000000000Z-0b5c8a38-1d1e-4c5e-9b0e-3f1f7e0b6a11"
    (half / "steps").mkdir(parents=True)
    (half / "manifest.json").write_text("{}")
    cut = _cli("report", str(half))
    assert cut.returncode == 2 and "half-written" in cut.stderr
    shutil.rmtree(half)


def _cli_in(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI with its default records root under ``state`` (the user state folder)."""
    return subprocess.run([sys.executable, "-m", "dbt_kickoff.cli.main", *args], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "XDG_STATE_HOME": str(state)})


def test_records_are_listed_and_found_by_name_from_the_records_root(shop: tuple[Path, Path], tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    project, database = shop
    state = tmp_path / "state"
    monkeypatch.setenv("XDG_STATE_HOME", str(state))  # records=None: the default root, one folder per package
    with dbt_kickoff.package(f"duckdb:///{database}", project, source_dataset_name="raw_data") as runner:
        runner.seed()
        good = runner.last_report.record
        with pytest.raises(DBTProcessingError):
            runner.build(additional_vars={"break_model": True})
        bad = runner.last_report.record
    assert good and bad and Path(good).parent.parent == state / "dbt-kickoff" / "records"
    good_name, bad_name = Path(good).name, Path(bad).name

    listed = _cli_in(state, "records", "--json")
    assert listed.returncode == 0, listed.stderr
    entries = json.loads(listed.stdout)
    assert [e["name"] for e in entries] == [bad_name, good_name]  # newest first
    assert [(e["project"], e["call"], e["outcome"]) for e in entries] == [("shop", "build", "failed"),
                                                                          ("shop", "seed", "success")]
    failed = json.loads(_cli_in(state, "records", "--outcome", "failed", "--json").stdout)
    assert [e["name"] for e in failed] == [bad_name]
    assert json.loads(_cli_in(state, "records", "--project", "other", "--json").stdout) == []
    table = _cli_in(state, "records", "--limit", "1")
    assert bad_name in table.stdout and good_name not in table.stdout and "failed" in table.stdout

    report = _cli_in(state, "report", bad_name)  # a bare name: found under the records root
    assert report.returncode == 0, report.stderr
    assert "stg_orders" in report.stderr and "resume with: dbt-kickoff retry" in report.stderr
    assert (Path(bad) / "report.html").is_file()
    missing = _cli_in(state, "report", bad_name[:-1] + ("0" if bad_name[-1] != "0" else "1"))
    assert missing.returncode == 2 and "dbt-kickoff records" in missing.stderr
    retried = _cli_in(state, "retry", good_name)
    assert retried.returncode == 0 and "nothing to retry" in retried.stderr
