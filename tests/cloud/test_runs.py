"""Runs against the real emulator: trigger, wait, outcomes, safe retriggering, idempotency, attach, rerun."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dbt_kickoff.cloud import (
    DbtCloud,
    DbtCloudAuthError,
    DbtCloudRunCancelled,
    DbtCloudRunFailed,
    DbtCloudTriggerUncertain,
    DbtCloudUnavailableError,
    DbtCloudWaitTimeout,
    RunStatus,
    get_dbt_cloud_run_status,
    run_dbt_cloud_job,
)
from dbt_kickoff.cloud.runs import MAX_CAUSE_LENGTH, MAX_FAILED_POLLS, TRIGGER_FIELDS
from dbt_kickoff.errors import ConfigurationError, KickoffError
from dbt_kickoff_emulator import DbtCloudEmulator, FakeClock, RunScript
from tests.cloud.conftest import JOB, TOKEN, assert_no_token

FAILED_LOG = "\n".join(
    [f"12:00:{n:02d}  {n} of 40 OK created sql table model analytics.m{n}" for n in range(40)]
    + ["12:01:00  Database Error in model orders (models/orders.sql)", '  column "amount" does not exist']
)


def _seconds(clock: FakeClock, since: Any) -> float:
    return (clock.now() - since).total_seconds()


# -- trigger and success --


def test_run_dbt_cloud_job_returns_the_finished_run(emulator: DbtCloudEmulator, creds: dict, fake_clock) -> None:
    run = run_dbt_cloud_job(creds, JOB, {"git_sha": "abcd1234", "schema_override": "custom"}, clock=fake_clock)
    for key in ("id", "status", "status_humanized", "is_complete", "is_success", "href"):
        assert key in run
    assert (run["status"], run["status_humanized"], run["is_success"]) == (10, "Success", True)
    assert emulator.run_ids(JOB) == [run["id"]]
    body = emulator.trigger_body(run["id"])
    assert body["git_sha"] == "abcd1234" and body["schema_override"] == "custom"


def test_positional_call_ported_from_dlt(emulator: DbtCloudEmulator, creds: dict, fake_clock) -> None:
    run = run_dbt_cloud_job(creds, JOB, {"git_branch": "main"}, True, 10, clock=fake_clock)
    assert run["is_success"]
    status = get_dbt_cloud_run_status(creds, run["id"], True, 10, clock=fake_clock)
    assert status["id"] == run["id"] and status["status_humanized"] == "Success"


def test_no_wait_returns_the_queued_run(emulator: DbtCloudEmulator, creds: dict) -> None:
    run = run_dbt_cloud_job(creds, wait_for_outcome=False)  # job id from the credentials
    assert RunStatus.of(run) == RunStatus.QUEUED
    assert emulator.route_counts == {"trigger": 1}


def test_every_override_field_is_sent(emulator: DbtCloudEmulator, cloud: DbtCloud) -> None:
    data = {
        "cause": "nightly load done",
        "git_sha": "0123abcd",
        "azure_pull_request_id": 1,
        "github_pull_request_id": 2,
        "gitlab_merge_request_id": 3,
        "non_native_pull_request_id": 4,
        "schema_override": "dbt_ci",
        "dbt_version_override": "1.9.0-latest",
        "threads_override": 8,
        "target_name_override": "ci",
        "generate_docs_override": False,
        "timeout_seconds_override": 3600,
        "steps_override": ["dbt build -s tag:daily"],
    }
    assert set(data) | {"git_branch"} == set(TRIGGER_FIELDS)
    run = cloud.trigger(JOB, data)
    body = emulator.trigger_body(run["id"])
    assert {k: v for k, v in body.items() if k != "cause"} == {k: v for k, v in data.items() if k != "cause"}
    assert body["cause"].startswith("nightly load done [dbt-kickoff:")
    steps = emulator.peek_run(run["id"])["trigger"]["steps_override"]
    assert steps == ["dbt build -s tag:daily"]


def test_git_branch_alone_is_sent(emulator: DbtCloudEmulator, cloud: DbtCloud) -> None:
    run = cloud.trigger(JOB, {"git_branch": "feature/x", "steps_override": [], "schema_override": None})
    assert set(emulator.trigger_body(run["id"])) == {"cause", "git_branch"}


def test_default_cause_is_useful_and_unique(emulator: DbtCloudEmulator, cloud: DbtCloud) -> None:
    first, second = cloud.trigger(JOB), cloud.trigger(JOB)
    causes = [emulator.trigger_body(r["id"])["cause"] for r in (first, second)]
    assert all(c.startswith("Triggered by dbt-kickoff [dbt-kickoff:") for c in causes)
    assert causes[0] != causes[1]


def test_over_long_cause_is_truncated_to_255(emulator: DbtCloudEmulator, cloud: DbtCloud) -> None:
    run = cloud.trigger(JOB, {"cause": "load finished " * 40})
    cause = emulator.trigger_body(run["id"])["cause"]
    assert len(cause) <= MAX_CAUSE_LENGTH
    assert cause.startswith("load finished") and "[dbt-kickoff:" in cause


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"schema_overide": "x"}, "did you mean 'schema_override'"),
        ({"threads_override": "many"}, "integer"),
        ({"steps_override": "dbt build"}, "list"),
        ({"steps_override": ["dbt build", ""]}, "list"),
        ({"generate_docs_override": "yes"}, "true or false"),
        ({"git_sha": ""}, "non-empty"),
    ],
)
def test_bad_trigger_data_fails_before_any_request(
    emulator: DbtCloudEmulator, cloud: DbtCloud, data: dict, match: str
) -> None:
    with pytest.raises(ConfigurationError, match=match):
        cloud.trigger(JOB, data)
    assert emulator.requests == []


def test_missing_job_id_is_a_configuration_error(creds: dict) -> None:
    with pytest.raises(ConfigurationError, match="job id"):
        run_dbt_cloud_job({**creds, "job_id": None})


# -- outcomes: failed, cancelled, timed out --


def test_a_failed_run_raises_with_the_failing_step_and_log_tail(emulator: DbtCloudEmulator, cloud: DbtCloud) -> None:
    emulator.script_next_run(
        JOB, RunScript(outcome="error", failing_step=5, step_logs={5: FAILED_LOG}, status_message="Failed")
    )
    with pytest.raises(DbtCloudRunFailed) as info:
        cloud.run_job(JOB)
    err = info.value
    assert type(err) is DbtCloudRunFailed and isinstance(err, KickoffError)
    assert err.run["status"] == 20 and err.run_id == emulator.run_ids(JOB)[0]
    message = str(err)
    assert "step 5 (Invoke dbt with `dbt build`)" in message
    assert 'column "amount" does not exist' in message
    assert "analytics.m0" not in message  # only the tail
    assert err.run["href"] in message
    assert any(s["index"] == 5 for s in err.run["run_steps"])


def test_a_failure_can_be_returned_instead_of_raised(emulator: DbtCloudEmulator, creds: dict, fake_clock) -> None:
    emulator.script_next_run(JOB, RunScript(outcome="error"))
    run = run_dbt_cloud_job(creds, raise_on_failure=False, clock=fake_clock)
    assert run["status"] == 20 and run["is_error"]


def test_a_cancelled_run_is_its_own_outcome(emulator: DbtCloudEmulator, cloud: DbtCloud) -> None:
    emulator.script_next_run(JOB, RunScript(outcome="cancelled", running_polls=2))
    with pytest.raises(DbtCloudRunCancelled) as info:
        cloud.run_job(JOB)
    assert info.value.run["status"] == 30 and not info.value.timed_out
    assert "was cancelled" in str(info.value)


def test_a_dbt_cloud_timeout_is_a_cancellation(emulator: DbtCloudEmulator, cloud: DbtCloud) -> None:
    emulator.script_next_run(JOB, RunScript(running_polls=0, running_seconds=900))
    with pytest.raises(DbtCloudRunCancelled) as info:
        cloud.run_job(JOB, {"timeout_seconds_override": 300}, poll_interval=30)
    assert info.value.timed_out
    assert "timed out" in str(info.value)


def test_our_wait_timeout_is_a_third_outcome(emulator: DbtCloudEmulator, cloud: DbtCloud, fake_clock) -> None:
    emulator.script_next_run(JOB, RunScript(running_polls=0, running_seconds=3600))
    before = fake_clock.now()
    with pytest.raises(DbtCloudWaitTimeout) as info:
        cloud.run_job(JOB, poll_interval=10, timeout=120)
    err = info.value
    assert not isinstance(err, DbtCloudRunFailed) and isinstance(err, KickoffError)
    assert not err.cancelled and str(err.run_id) in str(err) and "still running" in str(err)
    assert _seconds(fake_clock, before) == pytest.approx(120)
    assert emulator.peek_run(err.run_id)["status"] == RunStatus.RUNNING  # left alone
    assert "cancel" not in emulator.route_counts


def test_wait_timeout_can_cancel_the_run(emulator: DbtCloudEmulator, cloud: DbtCloud) -> None:
    emulator.script_next_run(JOB, RunScript(running_polls=0, running_seconds=3600, cancel_polls=2))
    with pytest.raises(DbtCloudWaitTimeout) as info:
        cloud.run_job(JOB, poll_interval=10, timeout=60, cancel_on_timeout=True)
    assert info.value.cancelled and "it was cancelled" in str(info.value)
    assert emulator.peek_run(info.value.run_id)["status"] == RunStatus.CANCELLED
    assert emulator.route_counts["cancel"] == 1


def test_get_status_returns_failures_and_can_wait(emulator: DbtCloudEmulator, creds: dict, fake_clock) -> None:
    emulator.script_next_run(JOB, RunScript(outcome="error"))
    run = run_dbt_cloud_job(creds, wait_for_outcome=False)
    queued = get_dbt_cloud_run_status(creds, run["id"], wait_for_outcome=False)
    assert queued["status"] == 1
    final = get_dbt_cloud_run_status(creds, run["id"], clock=fake_clock)
    assert final["status"] == 20
    with pytest.raises(DbtCloudRunFailed):
        get_dbt_cloud_run_status(creds, run["id"], raise_on_failure=True, clock=fake_clock)


# -- polling --


def test_polls_are_spaced_by_the_interval(emulator: DbtCloudEmulator, cloud: DbtCloud, fake_clock) -> None:
    emulator.script_next_run(
        JOB,
        RunScript(queued_polls=0, starting_polls=0, running_polls=0, queued_seconds=20, running_seconds=75),
    )
    start = fake_clock.now()
    polled_at: list[float] = []
    run = cloud.run_job(JOB, poll_interval=15, on_poll=lambda r: polled_at.append(_seconds(fake_clock, start)))
    assert polled_at == [15, 30, 45, 60, 75, 90, 105]
    finished = emulator.peek_run(run["id"])["finished_at"]
    assert finished is not None
    assert emulator.route_counts["get_run"] == len(polled_at)


def test_a_just_triggered_run_answering_404_is_waited_for(emulator: DbtCloudEmulator, cloud: DbtCloud) -> None:
    emulator.faults.new_run_404s = 2
    assert cloud.run_job(JOB)["is_success"]


def test_a_wait_outlives_an_outage_longer_than_the_retries(emulator: DbtCloudEmulator, cloud: DbtCloud) -> None:
    attempts = cloud.client.retry.max_attempts
    emulator.faults.fail(503, response="html", route="get_run", after=1, times=2 * attempts)  # two lost polls
    assert cloud.run_job(JOB)["is_success"]


def test_a_wait_gives_up_on_a_lasting_outage(emulator: DbtCloudEmulator, cloud: DbtCloud) -> None:
    emulator.script_next_run(JOB, RunScript(queued_polls=3))
    emulator.faults.fail(503, route="get_run", after=1, times=None)
    with pytest.raises(DbtCloudUnavailableError):
        cloud.run_job(JOB)
    assert emulator.route_counts["get_run"] == 1 + MAX_FAILED_POLLS * cloud.client.retry.max_attempts


def test_a_token_revoked_mid_wait_fails_fast(emulator: DbtCloudEmulator, cloud: DbtCloud) -> None:
    emulator.script_next_run(JOB, RunScript(running_polls=10))
    emulator.faults.revoke_token_after(TOKEN, polls=3)
    with pytest.raises(DbtCloudAuthError) as info:
        cloud.run_job(JOB)
    assert emulator.route_counts["get_run"] == 4
    assert_no_token(info.value)


def test_bad_wait_settings(cloud: DbtCloud) -> None:
    with pytest.raises(ConfigurationError, match=r"poll.interval"):
        cloud.wait(1, poll_interval=0)
    with pytest.raises(ConfigurationError, match="timeout"):
        cloud.wait(1, timeout=-1)


# -- never two runs for one trigger --

FAULTS = {
    "lost-500": lambda f: f.lose_trigger_response("500"),
    "lost-html": lambda f: f.lose_trigger_response("html"),
    "lost-reset": lambda f: f.lose_trigger_response("reset"),
    "lost-twice": lambda f: f.lose_trigger_response("html", times=2),
    "refused-500": lambda f: f.fail(500, route="trigger"),
    "refused-502-html": lambda f: f.html_error(502, route="trigger", times=2),
    "refused-reset": lambda f: f.reset_connection(route="trigger"),
    "empty-200": lambda f: f.empty_success(route="trigger"),
    "429s": lambda f: f.fail(429, route="trigger", times=3, retry_after=30),
    "429-then-lost": lambda f: (f.fail(429, route="trigger", times=1), f.lose_trigger_response("500")),
    "lost-then-list-5xx": lambda f: (
        f.lose_trigger_response("reset"),
        f.fail(503, route="list_runs", times=2),
    ),
    "503-then-lost": lambda f: (f.fail(503, route="trigger"), f.lose_trigger_response("html")),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_exactly_one_run_after_faults_around_a_trigger(emulator: DbtCloudEmulator, cloud: DbtCloud, fault: str) -> None:
    FAULTS[fault](emulator.faults)
    run = cloud.run_job(JOB)
    assert emulator.run_ids(JOB) == [run["id"]]
    assert run["is_success"]


def test_unsure_whether_a_run_exists_raises_and_never_resends(emulator: DbtCloudEmulator, cloud: DbtCloud) -> None:
    emulator.faults.lose_trigger_response("500")
    emulator.faults.fail(503, route="list_runs", times=None)
    with pytest.raises(DbtCloudTriggerUncertain, match="A run may exist") as info:
        cloud.trigger(JOB)
    assert info.value.marker in str(info.value)
    assert emulator.route_counts["trigger"] == 1
    assert len(emulator.run_ids(JOB)) == 1
    assert_no_token(info.value)


def test_a_timed_out_trigger_is_not_resent(
    emulator: DbtCloudEmulator, state_dir: Path, make_cloud: Callable[..., Any]
) -> None:
    emulator.faults.slow(1.0, route="trigger")  # the server answers (and creates the run) after our timeout
    with make_cloud(state_dir=state_dir, http_timeout=0.2) as worker:
        try:
            first: int | None = worker.trigger(JOB, idempotency_key="slow")["id"]
        except DbtCloudTriggerUncertain as exc:
            assert "A run may exist" in str(exc) and exc.marker in str(exc)
            first = None
    for _ in range(200):  # let the slow request finish server-side
        if emulator.run_ids(JOB):
            break
        time.sleep(0.02)
    assert emulator.route_counts["trigger"] == 1
    (only,) = emulator.run_ids(JOB)
    assert first in (None, only)
    with make_cloud(state_dir=state_dir) as retried:
        assert retried.trigger(JOB, idempotency_key="slow")["id"] == only
    assert emulator.run_ids(JOB) == [only]


def test_persistent_ambiguous_failures_are_bounded(emulator: DbtCloudEmulator, cloud: DbtCloud) -> None:
    emulator.faults.fail(500, route="trigger", times=None)  # answered, and no run: safe to re-send, within bounds
    with pytest.raises(DbtCloudTriggerUncertain):
        cloud.trigger(JOB)
    assert emulator.route_counts["trigger"] == cloud.client.retry.max_attempts
    assert emulator.run_ids(JOB) == []


# -- idempotency, attach, rerun --


def test_an_idempotency_key_reattaches_across_a_restart(
    emulator: DbtCloudEmulator, creds: dict, fake_clock, state_dir: Path, make_cloud: Callable[..., Any]
) -> None:
    emulator.script_next_run(JOB, RunScript(running_polls=5))
    with make_cloud(state_dir=state_dir) as first_worker:
        started = first_worker.trigger(JOB, idempotency_key="load-2026-11-24")
    with make_cloud(state_dir=state_dir) as restarted:
        again = restarted.run_job(JOB, idempotency_key="load-2026-11-24")
    assert again["id"] == started["id"] and again["is_success"]
    assert emulator.run_ids(JOB) == [started["id"]]
    ledger = (state_dir / "cloud-runs.json").read_text()
    assert str(started["id"]) in ledger and TOKEN not in ledger
    assert [p.name for p in state_dir.iterdir() if p.suffix == ".tmp"] == []
    other = run_dbt_cloud_job(creds, idempotency_key="load-2026-11-25", clock=fake_clock, state_dir=state_dir)
    assert other["id"] != started["id"]


def test_two_workers_with_one_key_at_once_start_one_run(
    emulator: DbtCloudEmulator, creds: dict, fake_clock: FakeClock, state_dir: Path
) -> None:
    emulator.faults.slow(0.3, route="trigger")  # widen the window between lookup and trigger
    ids: list[int] = []

    def worker() -> None:
        with DbtCloud(creds, clock=fake_clock, state_dir=state_dir) as cloud:
            ids.append(cloud.trigger(JOB, idempotency_key="same-load")["id"])

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ids) == 3 and len(set(ids)) == 1
    assert emulator.run_ids(JOB) == ids[:1]


def test_an_idempotency_key_finds_its_run_when_the_local_record_is_lost(
    emulator: DbtCloudEmulator, tmp_path: Path, make_cloud: Callable[..., Any]
) -> None:
    with make_cloud(state_dir=tmp_path / "a") as worker:
        started = worker.trigger(JOB, idempotency_key="k1")
    with make_cloud(state_dir=tmp_path / "b") as other_machine:
        assert other_machine.trigger(JOB, idempotency_key="k1")["id"] == started["id"]
    assert len(emulator.run_ids(JOB)) == 1


def test_an_idempotency_key_survives_a_lost_trigger_response(
    emulator: DbtCloudEmulator, creds: dict, fake_clock, state_dir: Path, make_cloud: Callable[..., Any]
) -> None:
    emulator.faults.lose_trigger_response("reset")
    with make_cloud(state_dir=state_dir) as worker:
        first = worker.trigger(JOB, idempotency_key="k2")
    with make_cloud(state_dir=state_dir) as restarted:
        assert restarted.trigger(JOB, idempotency_key="k2")["id"] == first["id"]
    assert emulator.run_ids(JOB) == [first["id"]]


def test_attach_to_a_run_already_in_progress(emulator: DbtCloudEmulator, cloud: DbtCloud) -> None:
    emulator.script_next_run(JOB, RunScript(queued_polls=10))
    running = cloud.trigger(JOB)
    attached = cloud.trigger(JOB, attach_to_running=True)
    assert attached["id"] == running["id"] and len(emulator.run_ids(JOB)) == 1
    fresh = cloud.trigger(JOB)
    assert fresh["id"] != running["id"]


def test_attach_starts_a_run_when_none_is_in_progress(emulator: DbtCloudEmulator, cloud: DbtCloud) -> None:
    cloud.run_job(JOB)
    run = cloud.trigger(JOB, attach_to_running=True)
    assert len(emulator.run_ids(JOB)) == 2 and run["id"] == emulator.run_ids(JOB)[-1]


def test_rerun_from_failure_only_when_the_newest_run_failed(
    emulator: DbtCloudEmulator, cloud: DbtCloud, caplog: pytest.LogCaptureFixture
) -> None:
    emulator.script_next_run(JOB, RunScript(outcome="error", failing_step=5))
    with pytest.raises(DbtCloudRunFailed):
        cloud.run_job(JOB)
    with caplog.at_level(logging.WARNING):
        rerun = cloud.run_job(JOB, {"schema_override": "ignored"}, rerun_from_failure=True)
    assert emulator.route_counts["rerun"] == 1 and "trigger" not in emulator.requests[-1].path
    assert "overrides are ignored" in caplog.text and "schema_override" in caplog.text
    assert emulator.peek_run(rerun["id"])["trigger"]["cause_category"] == "rerun"
    # the newest run succeeded now: a plain trigger, not a rerun
    cloud.run_job(JOB, rerun_from_failure=True)
    assert emulator.route_counts["rerun"] == 1 and emulator.route_counts["trigger"] == 2


def test_a_lost_rerun_response_is_reconciled(emulator: DbtCloudEmulator, cloud: DbtCloud) -> None:
    emulator.script_next_run(JOB, RunScript(outcome="error"))
    failed = cloud.run_job(JOB, raise_on_failure=False)
    emulator.faults.lose_trigger_response("html", route="rerun")
    rerun = cloud.trigger(JOB, rerun_from_failure=True)
    assert emulator.run_ids(JOB) == [failed["id"], rerun["id"]]
    assert emulator.route_counts["rerun"] == 1


def test_a_failure_is_reported_even_when_its_steps_cannot_be_read(emulator: DbtCloudEmulator, cloud: DbtCloud) -> None:
    emulator.script_next_run(JOB, RunScript(outcome="error"))
    run = cloud.trigger(JOB)
    cloud.wait(run, raise_on_failure=False)  # finish it, then make the detail request fail
    emulator.faults.fail(503, route="get_run", times=None, after=1)
    with pytest.raises(DbtCloudRunFailed, match="failed"):
        cloud.wait(run["id"])


def test_rerun_on_a_job_without_runs_triggers(emulator: DbtCloudEmulator, cloud: DbtCloud) -> None:
    cloud.trigger(JOB, rerun_from_failure=True)
    assert "rerun" not in emulator.route_counts and emulator.route_counts["trigger"] == 1


# -- results and artifacts --


def test_node_results_come_from_the_build_steps_not_the_docs_step(emulator: DbtCloudEmulator, cloud: DbtCloud) -> None:
    docs_results = {"results": [{"unique_id": "model.analytics.docs_only", "status": "success"}]}
    build_results = {
        "results": [
            {
                "unique_id": "model.analytics.orders",
                "status": "success",
                "execution_time": 1.5,
                "message": "SELECT 5",
                "adapter_response": {"rows_affected": 5},
            },
            {
                "unique_id": "test.analytics.unique_orders_id.abc123",
                "status": "fail",
                "failures": 2,
                "execution_time": 0.2,
                "message": "Got 2 results",
            },
        ]
    }
    seed_results = {"results": [{"unique_id": "seed.analytics.raw_orders", "status": "success"}]}
    emulator.script_next_run(JOB, RunScript(run_results={4: seed_results, 5: build_results, 6: docs_results}))
    run = cloud.run_job(JOB, records=False)  # only node_results reads artifacts here
    results = cloud.node_results(run)
    assert [r.unique_id for r in results] == [
        "seed.analytics.raw_orders",
        "model.analytics.orders",
        "test.analytics.unique_orders_id.abc123",
    ]
    orders, test = results[1], results[2]
    assert (orders.model_name, orders.status, orders.time, orders.rows_affected) == (
        "orders",
        "success",
        1.5,
        5,
    )
    assert (test.status, test.failures, test.is_failure) == ("fail", 2, True)
    steps = [int(r.query["step"][0]) for r in emulator.requests if r.route == "get_artifact"]
    assert steps == [4, 5]


def test_a_step_without_run_results_contributes_nothing(emulator: DbtCloudEmulator, cloud: DbtCloud) -> None:
    emulator.script_next_run(JOB, RunScript(run_results={4: None}))
    run = cloud.run_job(JOB)
    results = cloud.node_results(run["id"])
    assert results and all(r.resource_type != "docs" for r in results)


def test_artifacts_download_to_a_folder(emulator: DbtCloudEmulator, cloud: DbtCloud, tmp_path: Path) -> None:
    run = cloud.run_job(JOB)
    files = cloud.download_artifacts(run, tmp_path / "target", step=5)
    names = {p.relative_to(tmp_path / "target").as_posix() for p in files}
    assert {"run_results.json", "manifest.json"} <= names
    data = json.loads((tmp_path / "target" / "run_results.json").read_text())
    assert data["results"]
    assert not list((tmp_path / "target").rglob("*.part"))
    assert {r.headers.get("Accept") for r in emulator.requests if r.route == "get_artifact"} == {"*/*"}


# -- secrecy --


def test_token_never_leaks_from_failures_or_logs(
    emulator: DbtCloudEmulator, cloud: DbtCloud, creds: dict, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    leaky_log = f"connecting with token {TOKEN}\nDatabase Error"
    emulator.script_next_run(JOB, RunScript(outcome="error", step_logs={4: leaky_log}))
    errors: list[BaseException] = []
    with pytest.raises(DbtCloudRunFailed) as failed:
        cloud.run_job(JOB)
    errors.append(failed.value)
    emulator.faults.lose_trigger_response("reset")
    emulator.faults.fail(500, route="list_runs", times=None)
    with pytest.raises(DbtCloudTriggerUncertain) as unsure:
        cloud.trigger(JOB)
    errors.append(unsure.value)
    for exc in errors:
        assert_no_token(exc)
    assert "Database Error" in str(failed.value)
    assert TOKEN not in caplog.text
    assert TOKEN not in repr(cloud)


def test_a_binary_artifact_is_downloaded_verbatim(emulator: DbtCloudEmulator, cloud: DbtCloud, tmp_path: Path) -> None:
    blob = b"PAR1\x00\x01\x02\xff" * 64 + b"PAR1"
    emulator.script_next_run(JOB, RunScript(artifacts={5: {"metadata/telemetry-5-otel.parquet": blob}}))
    run = cloud.run_job(JOB)
    (path,) = cloud.download_artifacts(run, tmp_path, step=5, paths=["metadata/telemetry-5-otel.parquet"])
    assert path == tmp_path / "metadata" / "telemetry-5-otel.parquet"
    assert path.read_bytes() == blob


def test_an_artifact_path_cannot_escape_the_folder(cloud: DbtCloud, tmp_path: Path) -> None:
    run = cloud.run_job(JOB)
    with pytest.raises(KickoffError, match="escapes"):
        cloud.download_artifacts(run, tmp_path / "t", paths=["../outside.json"])
    assert not (tmp_path / "outside.json").exists()
