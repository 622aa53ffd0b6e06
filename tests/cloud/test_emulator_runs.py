"""Emulator run life cycle: scripted and clocked progression, scheduling, cancel, rerun, steps, artifacts."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from dbt_kickoff.results import parse_run_results
from dbt_kickoff_emulator import DbtCloudEmulator, FakeClock, RunScript

TOKEN = "dbtc_runs-test-secret-0002"
JOB = 70403103900200
CLOCKED = RunScript(queued_polls=0, starting_polls=0, running_polls=0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def emu(clock: FakeClock) -> Iterator[DbtCloudEmulator]:
    with DbtCloudEmulator(clock) as emulator:
        emulator.add_account(1, "Acme", run_slots=5)
        emulator.add_token(TOKEN, account_ids=[1])
        emulator.add_job(1, JOB, "Daily build", execute_steps=["dbt seed", "dbt build", "dbt test"])
        yield emulator


@pytest.fixture
def api(emu: DbtCloudEmulator) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=f"{emu.base_url}/api/v2/accounts/1", headers=headers, timeout=30) as client:
        yield client


def trigger(api: httpx.Client, job: int = JOB, **fields: Any) -> dict[str, Any]:
    response = api.post(f"/jobs/{job}/run/", json={"cause": "test", **fields})
    assert response.status_code == 200, response.text
    return response.json()["data"]


def get(api: httpx.Client, run_id: int, include: str = "run_steps") -> dict[str, Any]:
    response = api.get(f"/runs/{run_id}/", params={"include_related": include})
    assert response.status_code == 200, response.text
    return response.json()["data"]


def poll_until_done(api: httpx.Client, run_id: int, limit: int = 50) -> list[dict[str, Any]]:
    seen = []
    for _ in range(limit):
        seen.append(get(api, run_id))
        if seen[-1]["is_complete"]:
            return seen
    raise AssertionError(f"run {run_id} did not finish in {limit} polls")


FLAGS = ("in_progress", "is_complete", "is_success", "is_error", "is_cancelled")


# --- scripted progression -------------------------------------------------------------------------


def test_scripted_progression_per_poll_with_error_at_a_step(emu: DbtCloudEmulator, api: httpx.Client) -> None:
    emu.script_next_run(
        JOB,
        RunScript(
            queued_polls=2,
            starting_polls=1,
            running_polls=3,
            outcome="error",
            failing_step=5,
            step_logs={5: "Database Error in model orders\n  boom"},
        ),
    )
    run_id = trigger(api)["id"]
    seen = poll_until_done(api, run_id)
    assert [r["status_humanized"] for r in seen] == [
        "Queued",
        "Queued",
        "Starting",
        "Running",
        "Running",
        "Running",
        "Error",
    ]
    flags = {r["status"]: tuple(r[f] for f in FLAGS) for r in seen}
    assert flags == {
        1: (True, False, False, False, False),
        2: (True, False, False, False, False),
        3: (True, False, False, False, False),
        20: (False, True, False, True, False),
    }
    final = seen[-1]
    steps = final["run_steps"]
    assert [s["name"] for s in steps] == [
        "Clone git repository",
        "Create profile from connection Postgres",
        "Invoke dbt with `dbt deps`",
        "Invoke dbt with `dbt seed`",
        "Invoke dbt with `dbt build`",
    ]
    assert [s["status"] for s in steps] == [10, 10, 10, 10, 20]
    assert [s["index"] for s in steps] == [1, 2, 3, 4, 5]
    assert steps[-1]["logs"] == "Database Error in model orders\n  boom"
    assert steps[-1]["status_humanized"] == "Error"
    assert final["finished_at"] is not None and final["started_at"] is not None
    assert final["can_retry"] is True and final["retry_not_supported_reason"] is None
    # steps appear as the run goes: the running run never lists a step beyond the current one
    running_counts = [len(r["run_steps"]) for r in seen if r["status"] == 3]
    assert running_counts == sorted(running_counts) and running_counts[0] == 1


def test_listing_runs_does_not_count_as_a_poll(emu: DbtCloudEmulator, api: httpx.Client) -> None:
    run_id = trigger(api)["id"]
    for _ in range(5):
        api.get("/runs/")
    assert get(api, run_id)["status"] == 1
    for _ in range(5):
        assert api.get("/runs/").json()["data"][0]["status"] == 1
    assert emu.peek_run(run_id)["status"] == 1
    assert get(api, run_id)["status"] == 2


def test_default_script_succeeds_with_realistic_artifacts(emu: DbtCloudEmulator, api: httpx.Client) -> None:
    run_id = trigger(api)["id"]
    final = poll_until_done(api, run_id)[-1]
    assert final["status"] == 10 and final["status_message"] is None
    assert tuple(final[f] for f in FLAGS) == (False, True, True, False, False)
    assert final["artifacts_saved"] is True
    listed = api.get(f"/runs/{run_id}/artifacts/").json()["data"]
    assert listed == ["manifest.json", "run_results.json"]
    build = api.get(f"/runs/{run_id}/artifacts/run_results.json", params={"step": 5})
    assert build.headers["content-type"] == "application/json"
    document = build.json()
    assert document["metadata"]["invocation_id"]
    entry = document["results"][0]
    for key in (
        "unique_id",
        "status",
        "execution_time",
        "message",
        "adapter_response",
        "failures",
        "thread_id",
    ):
        assert key in entry
    assert [t["name"] for t in entry["timing"]] == ["compile", "execute"]
    nodes = parse_run_results(document)
    assert {n.resource_type for n in nodes} == {"seed", "model", "test"}
    assert all(n.status in ("success", "pass") for n in nodes)
    assert any(n.rows_affected for n in nodes)
    manifest = api.get(f"/runs/{run_id}/artifacts/manifest.json").json()
    assert set(manifest["nodes"]) >= {n.unique_id for n in nodes}


def test_failed_step_run_results_name_the_failing_node(emu: DbtCloudEmulator, api: httpx.Client) -> None:
    emu.script_next_run(JOB, RunScript(outcome="error", failing_step=5))
    run_id = trigger(api)["id"]
    final = poll_until_done(api, run_id)[-1]
    step = final["run_steps"][-1]
    assert "Database Error in model" in step["logs"]
    results = parse_run_results(api.get(f"/runs/{run_id}/artifacts/run_results.json").json())
    assert [r.status for r in results if r.is_failure] == ["error"]
    assert any(r.status == "skipped" for r in results)
    # step 6 never ran: nothing to fetch for it
    assert api.get(f"/runs/{run_id}/artifacts/run_results.json", params={"step": 6}).status_code == 404


# --- clocked progression --------------------------------------------------------------------------


def test_clocked_progression_without_polls(
    emu: DbtCloudEmulator, api: httpx.Client, clock: FakeClock
) -> None:
    emu.script_next_run(
        JOB,
        RunScript(
            queued_polls=0,
            starting_polls=0,
            running_polls=0,
            queued_seconds=10,
            starting_seconds=5,
            running_seconds=60,
        ),
    )
    run_id = trigger(api)["id"]
    statuses = []
    for step in (0, 10, 5, 30, 30):
        clock.advance(step)
        statuses.append(api.get("/runs/", params={"pk": run_id}).json()["data"][0]["status"])
    assert statuses == [1, 2, 3, 3, 10]
    final = get(api, run_id)
    assert final["queued_duration"] == "00:00:10"
    assert final["run_duration"] == "00:01:00"
    assert final["duration"] == "00:01:15"
    assert final["dequeued_at"] < final["started_at"] < final["finished_at"]
    assert final["duration_humanized"] == "1 minute, 15 seconds"


def test_job_timeout_ends_as_cancelled_with_the_timeout_message(
    emu: DbtCloudEmulator, api: httpx.Client, clock: FakeClock
) -> None:
    emu.add_job(1, JOB + 1, "Slow", timeout_seconds=90, script=RunScript(running_polls=1000))
    run_id = trigger(api, JOB + 1)["id"]
    for _ in range(3):
        get(api, run_id)
    assert get(api, run_id)["status"] == 3
    clock.advance(90)
    run = get(api, run_id)
    assert run["status"] == 30 and run["is_cancelled"] is True and run["is_error"] is False
    assert run["status_message"] == (
        "This run timed out after running for 1 minute, 30 seconds, "
        "which exceeded the configured timeout of 90 seconds."
    )
    assert run["run_steps"][-1]["status"] == 30


def test_trigger_timeout_override_and_account_limit(
    emu: DbtCloudEmulator, api: httpx.Client, clock: FakeClock
) -> None:
    emu.default_script = RunScript(queued_polls=0, starting_polls=0, running_polls=0, running_seconds=10**6)
    short = trigger(api, timeout_seconds_override=5)["id"]
    long = trigger(api, JOB, timeout_seconds_override=0)["id"]
    assert get(api, long)["blocked_by"] == [short]
    clock.advance(5)
    assert get(api, short)["status"] == 30
    assert get(api, long)["status"] == 3  # serial: it started as soon as `short` ended
    clock.advance(86400)
    run = get(api, long)
    assert run["status"] == 30
    assert run["status_message"] == (
        "This run timed out after running for 1 day, which exceeded the configured timeout of 86400 seconds."
    )
    assert run["run_duration"] == "24:00:00"


# --- scheduling -----------------------------------------------------------------------------------


def test_runs_of_one_job_are_serial_with_blocked_by(emu: DbtCloudEmulator, api: httpx.Client) -> None:
    first = trigger(api)["id"]
    second = trigger(api)
    assert second["status"] == 1 and second["blocked_by"] == [first]
    for _ in range(2):
        get(api, first)
    assert get(api, first)["status"] == 3
    for _ in range(5):
        blocked = get(api, second["id"])
        assert blocked["status"] == 1 and blocked["blocked_by"] == [first]
    poll_until_done(api, first)
    released = get(api, second["id"])
    assert released["blocked_by"] == []
    assert released["status"] == 2  # its queued polls were spent while blocked


def test_ci_jobs_run_concurrently(emu: DbtCloudEmulator, api: httpx.Client) -> None:
    emu.add_job(1, JOB + 7, "CI", job_type="ci", script=CLOCKED)
    runs = [trigger(api, JOB + 7, github_pull_request_id=12)["id"] for _ in range(2)]
    assert [get(api, r)["status"] for r in runs] == [10, 10]
    assert all(get(api, r)["blocked_by"] == [] for r in runs)


def test_run_slots_are_shared_across_jobs(emu: DbtCloudEmulator, api: httpx.Client, clock: FakeClock) -> None:
    emu.add_account(1, "Acme", run_slots=1)
    slow = RunScript(queued_polls=0, starting_polls=0, running_polls=0, running_seconds=30)
    emu.add_job(1, JOB + 1, "A", script=slow)
    emu.add_job(1, JOB + 2, "B", script=slow)
    a = trigger(api, JOB + 1)["id"]
    b = trigger(api, JOB + 2)["id"]
    assert get(api, a)["status"] == 3
    waiting = get(api, b)
    assert waiting["status"] == 1 and waiting["blocked_by"] == []
    clock.advance(30)
    assert get(api, a)["status"] == 10
    assert get(api, b)["status"] == 3


def test_queue_limit_refuses_new_runs(emu: DbtCloudEmulator, api: httpx.Client) -> None:
    emu.add_account(1, "Acme", run_slots=0, queue_limit=2)
    trigger(api)
    trigger(api)
    response = api.post(f"/jobs/{JOB}/run/", json={"cause": "third"})
    assert response.status_code == 400
    assert "queue limit" in response.json()["status"]["user_message"]
    assert len(emu.run_ids()) == 2


def test_deleting_a_job_cancels_its_runs(emu: DbtCloudEmulator, api: httpx.Client) -> None:
    run_id = trigger(api)["id"]
    emu.delete_job(JOB)
    run = get(api, run_id)
    assert run["status"] == 30
    assert run["status_message"] == "Cancelled because the job was deleted."


# --- cancel ---------------------------------------------------------------------------------------


def test_cancel_queued_run_is_immediate(api: httpx.Client) -> None:
    run_id = trigger(api)["id"]
    response = api.post(f"/runs/{run_id}/cancel/")
    assert response.status_code == 200
    run = response.json()["data"]
    assert run["status"] == 30 and run["status_humanized"] == "Cancelled"
    assert run["status_message"] == "Cancelled by user."
    assert run["is_cancelled"] is True and run["finished_at"] is not None and run["started_at"] is None


def test_cancel_starting_run_is_immediate(api: httpx.Client) -> None:
    run_id = trigger(api)["id"]
    get(api, run_id)
    assert get(api, run_id)["status"] == 2
    assert api.post(f"/runs/{run_id}/cancel/").json()["data"]["status"] == 30


def test_cancel_running_run_takes_the_scripted_polls(emu: DbtCloudEmulator, api: httpx.Client) -> None:
    emu.script_next_run(JOB, RunScript(queued_polls=0, starting_polls=0, running_polls=100, cancel_polls=2))
    run_id = trigger(api)["id"]
    assert get(api, run_id)["status"] == 3
    assert api.post(f"/runs/{run_id}/cancel/").json()["data"]["status"] == 3
    assert [get(api, run_id)["status"] for _ in range(3)] == [3, 3, 30]
    run = get(api, run_id)
    assert run["status_message"] == "Cancelled by user."
    assert run["run_steps"][-1]["status"] == 30


def test_cancel_terminal_run_returns_it_unchanged(api: httpx.Client) -> None:
    run_id = trigger(api)["id"]
    final = poll_until_done(api, run_id)[-1]
    response = api.post(f"/runs/{run_id}/cancel/")
    assert response.status_code == 200
    again = response.json()["data"]
    assert again["status"] == 10 and again["finished_at"] == final["finished_at"]


def test_scripted_cancelled_outcome(emu: DbtCloudEmulator, api: httpx.Client) -> None:
    emu.script_next_run(JOB, RunScript(outcome="cancelled", status_message="Cancelled by the scheduler."))
    final = poll_until_done(api, trigger(api)["id"])[-1]
    assert final["status"] == 30 and final["status_message"] == "Cancelled by the scheduler."


# --- rerun and retry ------------------------------------------------------------------------------


def test_rerun_after_failure_runs_failed_and_skipped_steps(emu: DbtCloudEmulator, api: httpx.Client) -> None:
    emu.script_next_run(JOB, RunScript(outcome="error", failing_step=5))
    failed = trigger(api)["id"]
    poll_until_done(api, failed)
    info = api.get(f"/runs/{failed}/retry/").json()["data"]
    assert info == {"failed_step": "dbt build", "skipped_steps": ["dbt test"]}
    response = api.post(f"/jobs/{JOB}/rerun/")
    assert response.status_code == 200
    rerun = response.json()["data"]
    assert rerun["trigger"]["cause_category"] == "rerun"
    assert rerun["retrying_run_id"] == failed
    final = poll_until_done(api, rerun["id"])[-1]
    assert [s["name"] for s in final["run_steps"][3:]] == [
        "Invoke dbt with `dbt build`",
        "Invoke dbt with `dbt test`",
    ]
    assert final["status"] == 10
    old = get(api, failed)
    assert old["can_retry"] is False and old["retry_not_supported_reason"] == "RETRY_NOT_LATEST_RUN"


def test_rerun_without_a_failed_latest_run_is_a_plain_trigger(
    emu: DbtCloudEmulator, api: httpx.Client
) -> None:
    run = api.post(f"/jobs/{JOB}/rerun/").json()["data"]
    assert run["trigger"]["cause_category"] == "api"
    final = poll_until_done(api, run["id"])[-1]
    assert len(final["run_steps"]) == 6
    second = api.post(f"/jobs/{JOB}/rerun/").json()["data"]
    assert second["trigger"]["cause_category"] == "api" and second["retrying_run_id"] is None


def test_retry_endpoint(emu: DbtCloudEmulator, api: httpx.Client) -> None:
    ok_run = trigger(api)["id"]
    poll_until_done(api, ok_run)
    refused = api.post(f"/runs/{ok_run}/retry/")
    assert refused.status_code == 400
    assert refused.json()["data"] == {"retry_not_supported_reason": "RETRY_NOT_FAILED_RUN"}
    assert api.get(f"/runs/{ok_run}/retry/").status_code == 400
    emu.script_next_run(JOB, RunScript(outcome="error", failing_step=6))
    failed = trigger(api)["id"]
    poll_until_done(api, failed)
    retried = api.post(f"/runs/{failed}/retry/").json()["data"]
    assert retried["trigger"]["cause_category"] == "rerun"
    assert [s["name"] for s in poll_until_done(api, retried["id"])[-1]["run_steps"][3:]] == [
        "Invoke dbt with `dbt test`"
    ]


def test_setup_failure_is_not_retryable(emu: DbtCloudEmulator, api: httpx.Client) -> None:
    emu.script_next_run(JOB, RunScript(outcome="error", failing_step=1))
    failed = trigger(api)["id"]
    final = poll_until_done(api, failed)[-1]
    assert final["retry_not_supported_reason"] == "RETRY_NO_RUN_RESULTS"
    assert api.get(f"/runs/{failed}/artifacts/").json()["data"] == []
    assert api.get(f"/runs/{failed}/artifacts/run_results.json").status_code == 404


# --- steps ----------------------------------------------------------------------------------------


def test_step_endpoint_with_truncated_and_full_debug_logs(emu: DbtCloudEmulator, api: httpx.Client) -> None:
    debug = "\n".join(f"debug line {n}" for n in range(1500))
    emu.script_next_run(JOB, RunScript(debug_logs={4: debug}))
    run_id = trigger(api)["id"]
    step = poll_until_done(api, run_id)[-1]["run_steps"][3]
    assert step["debug_logs"] is None
    truncated = step["truncated_debug_logs"].splitlines()
    assert len(truncated) == 1000 and truncated[-1] == "debug line 1499" and truncated[0] == "debug line 500"
    response = api.get(f"/steps/{step['id']}/", params={"include_related": "debug_logs,trigger,job"})
    full = response.json()["data"]
    assert full["debug_logs"] == debug
    assert full["trigger"]["cause"] == "test" and full["job"]["id"] == JOB
    assert full["run_id"] == run_id and full["index"] == 4 and full["duration"] == "00:00:00"
    with_debug = get(api, run_id, "run_steps,debug_logs")["run_steps"][3]
    assert with_debug["debug_logs"] == debug


# --- artifacts ------------------------------------------------------------------------------------


def test_docs_step_is_the_default_artifact_step(emu: DbtCloudEmulator, api: httpx.Client) -> None:
    emu.add_job(1, JOB + 3, "With docs", execute_steps=["dbt build"], generate_docs=True, script=CLOCKED)
    run_id = trigger(api, JOB + 3)["id"]
    run = get(api, run_id)
    assert run["run_steps"][-1]["name"] == "Invoke dbt with `dbt docs generate`"
    assert run["has_docs_generated"] is True
    assert "catalog.json" in api.get(f"/runs/{run_id}/artifacts/").json()["data"]
    assert api.get(f"/runs/{run_id}/artifacts/run_results.json").json()["results"] == []
    build = api.get(f"/runs/{run_id}/artifacts/run_results.json", params={"step": 4}).json()
    assert len(build["results"]) == 4
    assert api.get(f"/runs/{run_id}/artifacts/catalog.json", params={"step": 4}).status_code == 404
    assert api.get(f"/runs/{run_id}/artifacts/run_results.json", params={"step": 99}).status_code == 404


def test_generate_docs_override_adds_the_docs_step(api: httpx.Client, emu: DbtCloudEmulator) -> None:
    emu.default_script = CLOCKED
    run_id = trigger(api, generate_docs_override=True, steps_override=["dbt run -s orders"])["id"]
    names = [s["name"] for s in get(api, run_id)["run_steps"]]
    assert names[3:] == ["Invoke dbt with `dbt run -s orders`", "Invoke dbt with `dbt docs generate`"]


def test_overridden_binary_and_absent_artifacts(emu: DbtCloudEmulator, api: httpx.Client) -> None:
    parquet = b"PAR1\x00\x01\x02binary\xffPAR1"
    custom = {
        "results": [{"unique_id": "model.x.y", "status": "success"}],
        "metadata": {"invocation_id": "i"},
    }
    emu.script_next_run(
        JOB,
        RunScript(
            artifacts={5: {"metadata/telemetry-5-otel.parquet": parquet, "manifest.json": None}},
            run_results={5: custom, 6: None},
        ),
    )
    run_id = trigger(api)["id"]
    poll_until_done(api, run_id)
    response = api.get(f"/runs/{run_id}/artifacts/metadata/telemetry-5-otel.parquet", params={"step": 5})
    assert response.content == parquet
    assert response.headers["content-type"] == "application/x-parquet"
    assert api.get(f"/runs/{run_id}/artifacts/run_results.json", params={"step": 5}).json() == custom
    assert api.get(f"/runs/{run_id}/artifacts/manifest.json", params={"step": 5}).status_code == 404
    assert api.get(f"/runs/{run_id}/artifacts/run_results.json").status_code == 404  # step 6 wrote none
    assert api.get(f"/runs/{run_id}/artifacts/manifest.json").status_code == 200


def test_very_large_run_results(emu: DbtCloudEmulator, api: httpx.Client) -> None:
    nodes = [f"model.analytics.model_{n:05d}" for n in range(5000)]
    emu.script_next_run(JOB, RunScript(nodes=nodes))
    run_id = trigger(api)["id"]
    poll_until_done(api, run_id)
    response = api.get(f"/runs/{run_id}/artifacts/run_results.json", params={"step": 5})
    assert len(response.content) > 1_000_000
    assert len(json.loads(response.content)["results"]) == 5000


def test_job_artifacts_come_from_the_latest_successful_run(emu: DbtCloudEmulator, api: httpx.Client) -> None:
    assert api.get(f"/jobs/{JOB}/artifacts/manifest.json").status_code == 404
    good = trigger(api)["id"]
    poll_until_done(api, good)
    emu.script_next_run(JOB, RunScript(outcome="error"))
    poll_until_done(api, trigger(api)["id"])
    document = api.get(f"/jobs/{JOB}/artifacts/run_results.json").json()
    assert document == api.get(f"/runs/{good}/artifacts/run_results.json").json()


def test_artifacts_of_an_unfinished_step_are_404(api: httpx.Client) -> None:
    run_id = trigger(api)["id"]
    assert api.get(f"/runs/{run_id}/artifacts/").json()["data"] == []
    assert api.get(f"/runs/{run_id}/artifacts/run_results.json").status_code == 404


def test_concurrent_clients_get_consistent_runs(emu: DbtCloudEmulator) -> None:
    emu.add_job(1, JOB + 9, "CI", job_type="ci")
    finished: list[int] = []

    def worker() -> None:
        with httpx.Client(
            base_url=f"{emu.base_url}/api/v2/accounts/1",
            headers={"Authorization": f"Token {TOKEN}"},
            timeout=10,
        ) as client:
            for _ in range(3):
                run_id = trigger(client, JOB + 9)["id"]
                finished.append(poll_until_done(client, run_id)[-1]["id"])

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(finished) == emu.run_ids(JOB + 9)
    assert len(set(finished)) == 18
    assert emu.internal_errors == []


# --- step logs that grow, node by node ------------------------------------------------------------

NODES = ["seed.analytics.raw_orders", "model.analytics.stg_orders", "test.analytics.not_null_stg_orders_id.a1",
         "model.analytics.orders", "model.analytics.revenue", "test.analytics.unique_orders_id.b2",
         "source.analytics.raw.orders"]


def test_a_running_step_logs_each_node_in_dbts_line_shapes(emu: DbtCloudEmulator, api: httpx.Client) -> None:
    emu.script_next_run(JOB, RunScript(nodes=NODES, running_polls=40, outcome="error", failing_step=5,
                                       node_statuses={"model.analytics.orders": "error",
                                                      "model.analytics.revenue": "skipped",
                                                      "test.analytics.not_null_stg_orders_id.a1": "warn"}))
    run_id = trigger(api)["id"]
    seen = poll_until_done(api, run_id, limit=60)
    build = [next(s for s in r["run_steps"] if s["index"] == 5) for r in seen if len(r["run_steps"]) >= 5]
    lines = [len(step["logs"].splitlines()) for step in build]
    assert lines == sorted(lines) and len(set(lines)) > 3  # the log grew poll after poll
    logs = build[-1]["logs"]
    for expected in (
        "1 of 6 START seed file dbt_prod.raw_orders ..",
        "1 of 6 OK loaded seed file dbt_prod.raw_orders ..",
        "2 of 6 OK created sql table model dbt_prod.stg_orders ..",
        "3 of 6 WARN 1 not_null_stg_orders_id ..",
        "4 of 6 ERROR creating sql table model dbt_prod.orders ..",
        "5 of 6 SKIP relation dbt_prod.revenue ..",
        "6 of 6 PASS unique_orders_id ..",
        "Completed with 1 error, 0 partial successes, and 1 warning:",
        "Done. PASS=3 WARN=1 ERROR=1 SKIP=1 NO-OP=0 TOTAL=6",
    ):
        assert expected in logs, expected
    assert "START sql table model dbt_prod.revenue" not in logs  # dbt never starts a node it skips
    assert "[SELECT 4 in " in logs and "[SKIP]" in logs and "[ERROR in " in logs
    debug = build[-1]["truncated_debug_logs"]
    assert "[debug] [Thread-2 (]: Began running node model.analytics.stg_orders" in debug
    results = api.get(f"/runs/{run_id}/artifacts/run_results.json", params={"step": 5}).json()["results"]
    timings = [(r["timing"][-1]["started_at"], r["timing"][-1]["completed_at"]) for r in results if r["timing"]]
    assert timings == sorted(timings) and all(start <= end for start, end in timings)  # the emulator clock's
    assert [r["status"] for r in results] == ["success", "success", "warn", "error", "skipped", "pass"]


def test_the_truncated_debug_log_is_a_window_of_the_last_1000_lines(
    emu: DbtCloudEmulator, api: httpx.Client
) -> None:
    many = [f"model.analytics.m{i:04d}" for i in range(300)]
    emu.script_next_run(JOB, RunScript(nodes=many))
    run_id = trigger(api)["id"]
    step = poll_until_done(api, run_id)[-1]["run_steps"][4]
    window = step["truncated_debug_logs"].splitlines()
    full = api.get(f"/steps/{step['id']}/", params={"include_related": "debug_logs"}).json()["data"]["debug_logs"]
    assert len(window) == 1000 and len(full.splitlines()) > 2000 and full.splitlines()[-1000:] == window
    assert ": 1 of 300 START" in full and ": 1 of 300 START" not in step["truncated_debug_logs"]


def test_freshness_writes_sources_json_and_rerun_from_failure_runs_only_what_did_not_succeed(
    emu: DbtCloudEmulator, api: httpx.Client
) -> None:
    emu.add_job(1, JOB + 1, "With freshness", execute_steps=["dbt build"], run_generate_sources=True)
    emu.script_next_run(JOB + 1, RunScript(nodes=NODES, outcome="error", failing_step=5,
                                           node_statuses={"model.analytics.orders": "error",
                                                          "model.analytics.revenue": "skipped"}))
    failed = trigger(api, JOB + 1)["id"]
    steps = poll_until_done(api, failed)[-1]["run_steps"]
    assert [s["name"] for s in steps[3:]] == ["Invoke dbt with `dbt source freshness`", "Invoke dbt with `dbt build`"]
    sources = api.get(f"/runs/{failed}/artifacts/sources.json", params={"step": 4}).json()
    assert [r["unique_id"] for r in sources["results"]] == ["source.analytics.raw.orders"]
    assert "1 of 1 PASS freshness of raw.orders" in steps[3]["logs"]
    rerun = api.post(f"/runs/{failed}/retry/").json()["data"]
    poll_until_done(api, rerun["id"])
    results = api.get(f"/runs/{rerun['id']}/artifacts/run_results.json", params={"step": 4}).json()["results"]
    assert [r["unique_id"] for r in results] == ["model.analytics.orders", "model.analytics.revenue"]
    assert {r["status"] for r in results} == {"success"}
