"""A dbt Cloud run leaves a record in the Core record format (emulator over HTTP): its report in headless
Chromium, its OpenLineage events, retry = rerun from failure (once) with a merged record, and the CLI."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dbt_kickoff.cli.main import main
from dbt_kickoff.cloud import DbtCloudRunFailed
from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.records import open_record
from dbt_kickoff.records.identity import LATEST_REF, last_ref
from dbt_kickoff.report import report_data, write_html
from dbt_kickoff_emulator import DbtCloudEmulator, RunScript
from tests.cloud.conftest import ACCOUNT, JOB, TOKEN
from tests.records.conftest import chromium_args
from tests.records.test_report_lineage_s3 import _validate_dbt_facets

SECRET = "hunter2-warehouse-password"
FAILING = RunScript(running_polls=8, outcome="error", failing_step=5,
                    step_logs={5: f"connecting with {SECRET} and {TOKEN}\nDatabase Error in model stg_orders"})
CORE_KEYS = {"call", "outcome", "error", "commit_sha", "started_at", "finished_at", "record", "steps", "changed",
             "format", "name", "record_id", "identity", "fingerprint", "dbt_version", "package", "destination",
             "vars", "params", "runner", "step_dirs", "running", "sources_before", "retry", "duration", "files"}


@pytest.fixture
def failed_run(emulator: DbtCloudEmulator, make_cloud: Callable[..., Any], tmp_path: Path) -> Path:
    """A run of JOB (seed, build, docs) whose build failed, recorded in ``tmp_path/records``."""
    records = tmp_path / "records"
    emulator.script_next_run(JOB, FAILING)
    with pytest.raises(DbtCloudRunFailed):
        make_cloud(records=records, secrets=[SECRET]).run_job(JOB, {"schema_override": "analytics_ci"})
    return records


def test_a_cloud_run_leaves_a_record_in_the_core_format(failed_run: Path, emulator: DbtCloudEmulator) -> None:
    record = open_record("latest", failed_run)
    data = record.data
    assert set(data) >= CORE_KEYS and data["format"] == 1
    assert (data["call"], data["outcome"]) == ("cloud_run", "failed")
    [run_id] = emulator.run_ids(JOB)
    cloud = data["cloud"]
    assert (cloud["run_id"], cloud["job_id"], cloud["account_id"], cloud["status"]) == (run_id, JOB, ACCOUNT, 20)
    assert cloud["href"].endswith(f"/runs/{run_id}/") and cloud["job_name"] == "Daily build"
    assert cloud["trigger"]["overrides"] == {"schema_override": "analytics_ci"}
    assert [(s["command"], s["success"]) for s in data["steps"]] == [("deps", True), ("seed", True),
                                                                      ("build", False)]
    seed, build = data["steps"][1], data["steps"][2]
    assert seed["record_dir"] == "steps/02-seed" and seed["has_run_results"]
    assert [r["status"] for r in build["results"]] == ["success", "error", "skipped", "skipped"]
    assert all(r["started_at"] and r["completed_at"] for r in build["results"] if r["status"] != "skipped")
    assert build["args"] == ["build"] and build["invocation_id"]
    assert {"manifest.json", "run_results.json", "dbt.log", "steps/02-seed/run_results.json",
            "steps/03-build/run_results.json", "started.json"} <= set(data["files"])
    assert data["identity"]["package_location"].endswith(f"/accounts/{ACCOUNT}/jobs/{JOB}")
    assert data["package"]["project_name"] == "analytics" and data["dbt_version"] == "versionless"
    assert "Database Error in model stg_orders" in data["error"]
    assert len(record.report.results) == 5  # the seed step's node and the build's four
    store = record.store
    assert store.read_ref(LATEST_REF) == record.name == store.read_ref(last_ref(record.identity.retry_key))
    for path in (failed_run / record.name).rglob("*"):  # nothing secret anywhere in the record
        if path.is_file():
            text = path.read_text(errors="replace")
            assert TOKEN not in text and SECRET not in text, path
    assert "connecting with ***" in (failed_run / record.name / "dbt.log").read_text()


def test_a_wait_after_a_restart_completes_the_same_record(
    emulator: DbtCloudEmulator, make_cloud: Callable[..., Any], tmp_path: Path
) -> None:
    cloud = make_cloud(records=tmp_path / "records")
    run = cloud.trigger(JOB)
    cloud.wait(run)
    cloud.wait(run["id"])  # another wait on the same run (a worker that reattached) replaces its record
    names = sorted(p.parent.name for p in (tmp_path / "records").rglob("report.json"))
    assert len(names) == 1 and not list((tmp_path / "records").glob(".partial-*"))


def test_the_record_of_a_cloud_run_renders_in_chromium(failed_run: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    record = open_record("latest", failed_run)
    html = write_html(record, tmp_path / "report.html")
    dom = subprocess.run([*chromium_args(tmp_path / "profile"), "--dump-dom", html.as_uri()], capture_output=True,
                         text=True, timeout=120, check=True).stdout
    assert 'id="outcome"' in dom and ">failed<" in dom
    assert "stg_orders" in dom and 'relation "raw.orders" does not exist' in dom  # the failing node, dbt's words
    shown = report_data(record)
    assert len(shown.nodes) == 3  # the seed step's seed, the build's seed and failing model (skipped: no timing)
    assert dom.count('<rect class="node"') == len(shown.nodes) and dom.count('<rect class="step"') == 2
    assert main(["report", str(failed_run / record.name), "--output", str(tmp_path / "cli.html")]) == 0
    assert "failed" in capsys.readouterr().err and (tmp_path / "cli.html").is_file()


def test_a_cloud_run_sends_openlineage_events(
    emulator: DbtCloudEmulator, make_cloud: Callable[..., Any], tmp_path: Path
) -> None:
    events_file = tmp_path / "lineage.jsonl"
    config = {"transport": {"type": "file", "log_file_path": str(events_file), "append": True}}
    emulator.script_next_run(JOB, FAILING)
    with pytest.raises(DbtCloudRunFailed):
        make_cloud(records=False, openlineage=config).run_job(JOB)
    events = [json.loads(line) for line in events_file.read_text().splitlines()]
    namespace = f"dbt-cloud://{emulator.base_url.split('://')[1]}/accounts/{ACCOUNT}/projects/"
    assert [(e["eventType"], e["job"]["name"]) for e in (events[0], events[-1])] == [
        ("START", f"dbt-cloud-job-{JOB}"), ("FAIL", f"dbt-cloud-job-{JOB}")]
    assert all(e["job"]["namespace"].startswith(namespace) for e in events)
    failed = [e for e in events if e["job"]["name"].endswith("stg_orders.build.run") and e["eventType"] == "FAIL"]
    assert failed, [e["job"]["name"] for e in events]
    start = next(e for e in events if e["job"]["name"].endswith("orders.build.run") and e["eventType"] == "START")
    assert start["outputs"][0]["namespace"].startswith("postgres://dbt-cloud/accounts/")
    assert start["run"]["facets"]["dbt_run"]["dbt_runtime"] == "cloud"
    assert start["run"]["facets"]["parent"]["run"]["runId"] == events[0]["run"]["runId"]
    _validate_dbt_facets(events)
    assert not list(tmp_path.glob("**/report.json"))  # records off: the record was only assembled for lineage


def test_retry_reruns_from_failure_once_and_its_record_merges_every_node(
    failed_run: Path, emulator: DbtCloudEmulator, make_cloud: Callable[..., Any]
) -> None:
    previous = open_record("latest", failed_run)
    cloud = make_cloud(records=failed_run)
    rerun = cloud.retry(record=previous)
    assert rerun["status"] == 10 and rerun["id"] != previous.data["cloud"]["run_id"]
    steps = emulator.peek_run(rerun["id"])["run_steps"]
    assert [s["name"] for s in steps[3:]] == ["Invoke dbt with `dbt build`", "Invoke dbt with `dbt docs generate`"]
    record = open_record("latest", failed_run)
    assert (record.data["call"], record.data["outcome"]) == ("cloud_retry", "success")
    retry = record.data["retry"]
    assert retry["of"] == previous.uri and retry["root"] == previous.uri
    assert retry["run_id"] == previous.data["cloud"]["run_id"]
    rerun_nodes = [r["unique_id"] for s in record.data["steps"] for r in s["results"]]
    assert rerun_nodes == ["model.analytics.stg_orders", "model.analytics.orders",
                           "test.analytics.not_null_orders_order_id.5b8d3a1f2c"]  # only what failed or was skipped
    merged = {r["unique_id"]: r["status"] for r in retry["merged"]}
    assert merged == {"seed.analytics.raw_orders": "success", "model.analytics.stg_orders": "success",
                      "model.analytics.orders": "success", "test.analytics.not_null_orders_order_id.5b8d3a1f2c": "pass"}
    again = cloud.retry(record=previous)  # never a duplicate run: the rerun is found again
    assert again["id"] == rerun["id"] and emulator.route_counts["retry"] == 1
    assert len(emulator.run_ids(JOB)) == 2
    assert cloud.retry(rerun["id"])["id"] == rerun["id"]  # a run that did not fail: nothing to rerun
    assert emulator.route_counts["retry"] == 1


def test_a_core_record_is_not_retried_as_a_cloud_run(failed_run: Path, make_cloud: Callable[..., Any]) -> None:
    record = open_record("latest", failed_run)
    record.data.pop("cloud")
    with pytest.raises(ConfigurationError, match=r"record .* is of a dbt Core call"):
        make_cloud().retry(record=record)


def test_the_cli_retries_a_cloud_record_and_reports_it(
    live: DbtCloudEmulator, creds_live: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DBT_CLOUD__API_TOKEN", TOKEN)
    records = tmp_path / "records"
    live.script_next_run(JOB, RunScript(outcome="error"))
    code = main(["cloud", "run", str(JOB), "--account-id", str(ACCOUNT), "--base-url", live.base_url,
                 "--poll-interval", "0.02", "--records", str(records)])
    assert code == 1
    capsys.readouterr()
    assert main(["retry", "latest", "--records", str(records), "--poll-interval", "0.02"]) == 0
    out = capsys.readouterr()
    assert "stg_orders" in out.out and "rerun" in out.out
    assert main(["retry", "latest", "--records", str(records), "--poll-interval", "0.02", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["outcome"] == "nothing to retry"  # the latest is the good rerun
    assert len(live.run_ids(JOB)) == 2 and live.route_counts["retry"] == 1
    assert main(["report", "latest", "--records", str(records), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["call"] == "cloud_retry"


def test_a_wait_that_timed_out_records_what_finished(
    emulator: DbtCloudEmulator, make_cloud: Callable[..., Any], tmp_path: Path
) -> None:
    from dbt_kickoff.cloud import DbtCloudWaitTimeout

    emulator.script_next_run(JOB, RunScript(queued_polls=0, starting_polls=0, running_polls=0, running_seconds=600,
                                            cancel_polls=0))
    with pytest.raises(DbtCloudWaitTimeout):
        make_cloud(records=tmp_path / "records").run_job(JOB, timeout=400, cancel_on_timeout=True)
    data = open_record("latest", tmp_path / "records").data
    assert (data["outcome"], data["cloud"]["status"]) == ("timeout", 30)
    assert [s["command"] for s in data["steps"]][:2] == ["deps", "seed"]  # what ran before the wait gave up
    assert "did not finish within 400s" in data["error"]
