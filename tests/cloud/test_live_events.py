"""Node events of dbt Cloud runs while they run, against the emulator over HTTP (sync and async runners): a
200-node job, a log window that moved on, fail_fast, a consumer stopped midway, a worker killed mid-wait."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from dbt_kickoff.cloud import DbtCloudRunCancelled, DbtCloudRunFailed
from dbt_kickoff.engines import DbtEvent
from dbt_kickoff_emulator import DbtCloudEmulator, FakeClock, RunScript
from tests.cloud.conftest import ACCOUNT, TOKEN

BIG_JOB = 70403103900777


def two_hundred_nodes() -> list[str]:
    """10 seeds, 140 models and 50 tests (each after the model it tests), in the order dbt runs them."""
    nodes = [f"seed.analytics.raw_{i:02d}" for i in range(10)]
    tested = set(range(0, 140, 3)) | {1, 2, 4}
    for i in range(140):
        nodes.append(f"model.analytics.model_{i:03d}")
        if i in tested:
            nodes.append(f"test.analytics.not_null_model_{i:03d}_id.{i:06x}")
    assert len(nodes) == 200
    return nodes


NODES = two_hundred_nodes()
STATUSES = {
    "model.analytics.model_060": "error",
    "model.analytics.model_061": "skipped",
    "model.analytics.model_062": "skipped",
    "test.analytics.not_null_model_003_id.000003": "warn",
    "test.analytics.not_null_model_090_id.00005a": "warn",
    "test.analytics.not_null_model_120_id.000078": "fail",
}


@pytest.fixture
def big_job(emulator: DbtCloudEmulator, make_cloud: Callable[..., Any]) -> int:
    """A ``dbt build`` job over 200 nodes whose last run succeeded (so the job has a manifest)."""
    emulator.add_job(ACCOUNT, BIG_JOB, "Big build", execute_steps=["dbt build"])
    emulator.script_next_run(BIG_JOB, RunScript(nodes=NODES))
    make_cloud().run_job(BIG_JOB, records=False)
    emulator.clear_requests()
    return BIG_JOB


def _finished(events: list[DbtEvent]) -> list[str]:
    return [e.node.unique_id for e in events if e.finished and e.node is not None]


def test_a_200_node_job_reports_every_node_in_order_while_it_runs(
    emulator: DbtCloudEmulator, make_cloud: Callable[..., Any], fake_clock: FakeClock, big_job: int
) -> None:
    emulator.script_next_run(big_job, RunScript(nodes=NODES, running_polls=120, outcome="error",
                                                node_statuses=STATUSES))
    received: list[tuple[datetime, DbtEvent]] = []
    polls: list[int] = []
    cloud = make_cloud()
    with pytest.raises(DbtCloudRunFailed):
        cloud.run_job(big_job, records=False, on_event=lambda e: received.append((fake_clock.now(), e)),
                      on_poll=lambda run: polls.append(1))
    events = [event for _, event in received]
    assert _finished(events) == NODES  # every node once, in the order dbt finished them, by unique id
    started = [e.node.unique_id for e in events if e.name == "NodeStart" and e.node is not None]
    skipped = {uid for uid, status in STATUSES.items() if status == "skipped"}
    assert started == [uid for uid in NODES if uid not in skipped]  # dbt never starts a node it skips
    for uid in started:  # each node started before it finished
        assert events.index(next(e for e in events if e.name == "NodeStart" and e.node.unique_id == uid)) < \
            events.index(next(e for e in events if e.finished and e.node.unique_id == uid))
    status = {e.node.unique_id: e.node for e in events if e.finished}
    assert {uid: status[uid].status for uid in STATUSES} == STATUSES
    assert Counter(n.status for n in status.values()) == Counter(
        {"success": 147, "pass": 47, "warn": 2, "skipped": 2, "error": 1, "fail": 1})
    model = status["model.analytics.model_007"]
    assert (model.name, model.resource_type) == ("model_007", "model") and model.message.startswith("SELECT ")
    assert model.execution_time is not None and model.execution_time > 0
    assert status["model.analytics.model_060"].message == "ERROR"
    assert all(e.level == "error" for e in events if e.finished and e.node.status in ("error", "fail"))

    run = emulator.peek_run(emulator.run_ids(big_job)[-1])
    ended = datetime.fromisoformat(run["finished_at"])
    before_the_end = [event for moment, event in received if moment < ended]
    assert len(before_the_end) >= 0.8 * len(received)  # they came while it ran, not at the end
    assert any(e.node.unique_id == "model.analytics.model_060" for e in before_the_end if e.finished)
    # one request per poll (the run with its steps' logs), the job's manifest once, no artifact: no line was lost
    assert emulator.route_counts["get_run"] == len(polls)
    assert emulator.route_counts["job_artifact"] == 1 and "get_artifact" not in emulator.route_counts
    assert all(r.query.get("include_related") == ["run_steps"] for r in emulator.requests if r.route == "get_run")


def test_without_a_manifest_nodes_are_named_as_the_logs_name_them(
    emulator: DbtCloudEmulator, make_cloud: Callable[..., Any]
) -> None:
    emulator.add_job(ACCOUNT, BIG_JOB, "First build", execute_steps=["dbt build"])
    emulator.script_next_run(BIG_JOB, RunScript(nodes=NODES[:20], running_polls=12))
    events: list[DbtEvent] = []
    make_cloud().run_job(BIG_JOB, records=False, on_event=events.append)  # the job's first run: no manifest yet
    finished = _finished(events)
    assert len(finished) == 20 and len(set(finished)) == 20
    assert finished[:2] == ["seed:dbt_prod.raw_00", "seed:dbt_prod.raw_01"]
    assert "model:dbt_prod.model_000" in finished and "test:not_null_model_000_id" in finished


def test_nodes_the_log_window_lost_come_once_from_the_step_artifacts(
    emulator: DbtCloudEmulator, make_cloud: Callable[..., Any], big_job: int
) -> None:
    # the whole build runs between two polls: its debug log (~1,700 lines) is cut to its last 1,000
    emulator.script_next_run(big_job, RunScript(nodes=NODES, outcome="error", node_statuses=STATUSES))
    events: list[DbtEvent] = []
    with pytest.raises(DbtCloudRunFailed):
        make_cloud().run_job(big_job, records=False, on_event=events.append)
    [step] = [s for s in emulator.peek_run(emulator.run_ids(big_job)[-1])["run_steps"] if s["index"] == 4]
    assert len(step["debug_logs"] or "") == 0 and len(step["truncated_debug_logs"].splitlines()) == 1000
    finished = _finished(events)
    assert sorted(finished) == sorted(NODES)  # every node exactly once
    from_logs = [e.node.unique_id for e in events if e.finished and "(from the step's artifacts)" not in e.message]
    assert 0 < len(from_logs) < len(NODES)  # some from the window, the rest from run_results.json
    assert {e.node.unique_id: e.node.status for e in events if e.finished and e.node.unique_id in STATUSES} == \
        STATUSES
    assert [int(r.query["step"][0]) for r in emulator.requests if r.route == "get_artifact"] == [4]


def test_fail_fast_cancels_the_run_at_the_first_failing_node(
    emulator: DbtCloudEmulator, make_cloud: Callable[..., Any], big_job: int
) -> None:
    emulator.script_next_run(big_job, RunScript(nodes=NODES, running_polls=120, outcome="error",
                                                node_statuses={"model.analytics.model_060": "error"},
                                                cancel_polls=1))
    events: list[DbtEvent] = []
    with pytest.raises(DbtCloudRunCancelled) as stopped:
        make_cloud().run_job(big_job, records=False, fail_fast=True, on_event=events.append)
    assert str(stopped.value).startswith("fail_fast: model model_060 ended with error: ERROR; dbt-kickoff "
                                         "cancelled dbt Cloud run")
    assert stopped.value.run["status"] == 30
    assert emulator.route_counts["cancel"] == 1
    finished = _finished(events)
    after = finished[finished.index("model.analytics.model_060") + 1:]
    assert len(after) < 30 and len(finished) < len(NODES)  # it stopped within a poll or two
    cancel = next(i for i, r in enumerate(emulator.requests) if r.route == "cancel")
    assert emulator.requests[cancel - 1].route == "get_run"  # asked right after the poll that showed the error


def test_a_consumer_stopped_midway_goes_on_where_it_stopped(
    emulator: DbtCloudEmulator, make_cloud: Callable[..., Any], big_job: int
) -> None:
    """An exception in ``on_event`` stops the wait; waiting again under the same idempotency key delivers the
    rest: none twice, none lost."""
    emulator.script_next_run(big_job, RunScript(nodes=NODES, running_polls=120))
    cloud = make_cloud()
    run = cloud.trigger(big_job, idempotency_key="nightly-2026-01-05")
    first: list[DbtEvent] = []

    class Stop(Exception):
        pass

    def stop_at_the_90th(event: DbtEvent) -> None:
        if len(first) == 89:
            raise Stop
        first.append(event)

    with pytest.raises(Stop):
        cloud.wait(run, records=False, on_event=stop_at_the_90th, idempotency_key="nightly-2026-01-05")
    rest: list[DbtEvent] = []
    cloud.wait(run, records=False, on_event=rest.append, idempotency_key="nightly-2026-01-05")
    assert len(first) == 89
    assert _finished(first) + _finished(rest) == NODES
    started = [e.node.unique_id for e in first + rest if e.name == "NodeStart"]
    assert sorted(started) == sorted(NODES)
    other: list[DbtEvent] = []  # another consumer (no key) of the finished run gets every node too, once: those
    cloud.wait(run, records=False, on_event=other.append)  # the window still shows, then the others from the files
    assert sorted(_finished(other)) == sorted(NODES)


WORKER = textwrap.dedent("""
    import json, os, signal, sys
    from dbt_kickoff.cloud import DbtCloud

    creds, job, state, out = json.loads(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    kill_at, key = int(sys.argv[5]), sys.argv[6]
    polls = []

    def on_poll(run):
        polls.append(run["status"])
        if kill_at and len(polls) == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)  # between two polls: what the last one brought was delivered

    with open(out, "a") as events, DbtCloud(creds, state_dir=state) as cloud:
        def on_event(event):
            events.write(json.dumps([event.name, event.node.unique_id]) + "\\n")
            events.flush()

        run = cloud.run_job(job, idempotency_key=key, poll_interval=0.05,
                            on_event=on_event, on_poll=on_poll, records=False)
        print(json.dumps({"run": run["id"], "status": run["status"]}))
""")


def test_a_worker_killed_mid_wait_reattaches_and_delivers_the_rest_once(
    live: DbtCloudEmulator, creds_live: dict[str, Any], tmp_path: Path
) -> None:
    live.add_job(ACCOUNT, BIG_JOB, "Big build", execute_steps=["dbt build"])
    live.script_next_run(BIG_JOB, RunScript(nodes=NODES))
    live.script_next_run(BIG_JOB, RunScript(nodes=NODES, running_polls=80))
    creds = json.dumps(creds_live)
    out, state = tmp_path / "events.jsonl", tmp_path / "state"
    worker = [sys.executable, "-c", WORKER, creds]
    first = subprocess.run([*worker, str(BIG_JOB), str(state), os.devnull, "0", "yesterday"],
                           capture_output=True, text=True, timeout=300)  # a first run: the job's manifest
    assert first.returncode == 0, first.stderr
    key = "airflow:nightly:build:2026-01-05"
    killed = subprocess.run([*worker, str(BIG_JOB), str(state), str(out), "70", key], capture_output=True,
                            text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    delivered_before = out.read_text().count("\n")
    restarted = subprocess.run([*worker, str(BIG_JOB), str(state), str(out), "0", key], capture_output=True,
                               text=True, timeout=300)
    assert restarted.returncode == 0, restarted.stderr
    assert json.loads(restarted.stdout)["status"] == 10
    events = [tuple(json.loads(line)) for line in out.read_text().splitlines()]
    assert 0 < delivered_before < len(events)  # the first worker delivered some, the second the rest
    assert [uid for name, uid in events if name == "NodeFinished"] == NODES  # once each, in order
    assert Counter(name for name, _ in events) == {"NodeStart": 200, "NodeFinished": 200}
    assert len(live.run_ids(BIG_JOB)) == 2  # the restarted worker reattached: no second run
    assert TOKEN not in killed.stderr + restarted.stderr
