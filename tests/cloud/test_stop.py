"""A wait stopped from outside: the run is cancelled with ``cancel_on_stop=True`` and the stop propagates
unchanged; checks of the numbers before any request; step logs masked with every known secret."""

from __future__ import annotations

import ctypes
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import anyio
import pytest

from dbt_kickoff.cloud import (
    DbtCloud,
    DbtCloudAuthError,
    DbtCloudRunFailed,
    RunStatus,
    get_dbt_cloud_run_status,
    run_dbt_cloud_job,
)
from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff_emulator import DbtCloudEmulator, FakeClock, RunScript
from tests.cloud.conftest import ACCOUNT, JOB, TOKEN, assert_no_token

LONG_RUN = RunScript(running_polls=100_000, cancel_polls=0)


class Interrupted(BaseException):
    """Stands for an orchestrator's interrupt (Dagster raises a BaseException subclass in the waiting thread)."""


class StoppingClock:
    """The emulator's fake clock, except that its ``stop_at``-th sleep raises ``stop`` in the waiting thread."""

    def __init__(self, fake: FakeClock, stop: BaseException, stop_at: int = 3) -> None:
        self.fake, self.stop, self.stop_at, self.sleeps = fake, stop, stop_at, 0

    def time(self) -> float:
        return self.fake.now().timestamp()

    def monotonic(self) -> float:
        return self.time()

    def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        if self.sleeps == self.stop_at:
            raise self.stop
        self.fake.advance(seconds)

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)
        await anyio.sleep(0)


def _cancel_requests(emulator: DbtCloudEmulator) -> list[str]:
    return [r.path for r in emulator.requests if r.route == "cancel"]


# -- a stop during the wait --


@pytest.mark.parametrize("stop", [KeyboardInterrupt(), SystemExit(3), Interrupted("dagster interrupt")])
def test_a_stopped_wait_cancels_the_run_and_the_stop_propagates_unchanged(
    emulator: DbtCloudEmulator, make_cloud: Callable[..., Any], fake_clock: FakeClock, stop: BaseException
) -> None:
    emulator.script_next_run(JOB, LONG_RUN)
    cloud = make_cloud(clock=StoppingClock(fake_clock, stop))
    with pytest.raises(type(stop)) as info:
        cloud.run_job(JOB, cancel_on_stop=True)
    assert info.value is stop
    (run_id,) = emulator.run_ids(JOB)
    assert _cancel_requests(emulator) == [f"/api/v2/accounts/{ACCOUNT}/runs/{run_id}/cancel/"]
    assert emulator.peek_run(run_id)["status"] == RunStatus.CANCELLED


def test_without_cancel_on_stop_the_run_is_left_alone(
    emulator: DbtCloudEmulator, make_cloud: Callable[..., Any], fake_clock: FakeClock
) -> None:
    emulator.script_next_run(JOB, LONG_RUN)
    cloud = make_cloud(clock=StoppingClock(fake_clock, KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        cloud.run_job(JOB)  # the API default: cancel_on_stop=False
    assert _cancel_requests(emulator) == []
    assert not RunStatus.of(emulator.peek_run(emulator.run_ids(JOB)[0])).is_terminal


def test_an_exception_from_on_poll_is_a_stop(emulator: DbtCloudEmulator, cloud: Any) -> None:
    emulator.script_next_run(JOB, LONG_RUN)
    polls: list[int] = []

    def on_poll(run: dict[str, Any]) -> None:
        polls.append(run["status"])
        if len(polls) == 4:
            raise RuntimeError("the caller gave up")

    with pytest.raises(RuntimeError, match="gave up"):
        cloud.run_job(JOB, on_poll=on_poll, cancel_on_stop=True)
    assert len(_cancel_requests(emulator)) == 1


def test_dbt_clouds_own_errors_are_not_stops(emulator: DbtCloudEmulator, cloud: Any) -> None:
    emulator.script_next_run(JOB, LONG_RUN)
    emulator.faults.revoke_token_after(TOKEN, polls=2)
    with pytest.raises(DbtCloudAuthError):
        cloud.run_job(JOB, cancel_on_stop=True)
    assert _cancel_requests(emulator) == []  # a revoked token could not cancel anyway


def test_a_failing_cancel_does_not_hide_the_stop(
    emulator: DbtCloudEmulator, make_cloud: Callable[..., Any], fake_clock: FakeClock
) -> None:
    emulator.script_next_run(JOB, LONG_RUN)
    emulator.faults.fail(403, route="cancel", times=None)
    stop = Interrupted("stop")
    cloud = make_cloud(clock=StoppingClock(fake_clock, stop))
    with pytest.raises(Interrupted) as info:
        cloud.run_job(JOB, cancel_on_stop=True)
    assert info.value is stop and len(_cancel_requests(emulator)) == 1


def test_a_cancel_after_a_stop_does_not_wait_out_a_rate_limit(
    emulator: DbtCloudEmulator, make_cloud: Callable[..., Any], fake_clock: FakeClock
) -> None:
    """The stop must not be held up: a cancel that dbt Cloud answers with 429 + a five-minute Retry-After is
    given up (the run stays as it is) once its bound (twice the HTTP timeout + 5 s) is reached."""
    emulator.script_next_run(JOB, LONG_RUN)
    emulator.faults.fail(429, route="cancel", times=None, retry_after=300)
    clock = StoppingClock(fake_clock, Interrupted("stop"))
    cloud = make_cloud(clock=clock, http_timeout=5)
    with pytest.raises(Interrupted):
        cloud.run_job(JOB, cancel_on_stop=True)
    assert len(_cancel_requests(emulator)) == 1  # asked once; waiting 300 s to ask again is beyond the bound


def test_the_entry_points_take_cancel_on_stop(emulator: DbtCloudEmulator, creds: dict, fake_clock: FakeClock) -> None:
    emulator.script_next_run(JOB, LONG_RUN)
    with pytest.raises(SystemExit):
        run_dbt_cloud_job(creds, clock=StoppingClock(fake_clock, SystemExit(1)), cancel_on_stop=True)
    (first,) = emulator.run_ids(JOB)
    assert emulator.peek_run(first)["status"] == RunStatus.CANCELLED
    emulator.script_next_run(JOB, LONG_RUN)
    second = run_dbt_cloud_job(creds, wait_for_outcome=False)
    with pytest.raises(KeyboardInterrupt):
        get_dbt_cloud_run_status(
            creds, second["id"], clock=StoppingClock(fake_clock, KeyboardInterrupt()), cancel_on_stop=True
        )
    assert emulator.peek_run(second["id"])["status"] == RunStatus.CANCELLED
    assert len(_cancel_requests(emulator)) == 2


def test_an_exception_injected_into_the_waiting_thread_cancels_the_run(
    creds_live: dict, live: DbtCloudEmulator
) -> None:
    """As an orchestrator does: ``PyThreadState_SetAsyncExc`` from another thread, on real time."""
    live.script_next_run(JOB, LONG_RUN)
    raised: list[BaseException] = []

    def worker() -> None:
        try:
            run_dbt_cloud_job(creds_live, wait_seconds=0.2, cancel_on_stop=True)
        except BaseException as exc:
            raised.append(exc)

    thread = threading.Thread(target=worker)
    thread.start()
    deadline = time.monotonic() + 60
    while live.route_counts.get("get_run", 0) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert live.route_counts.get("get_run", 0) >= 3, "the wait never started"
    set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc
    assert set_async_exc(ctypes.c_ulong(thread.ident), ctypes.py_object(Interrupted)) == 1
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert len(raised) == 1 and type(raised[0]) is Interrupted
    (run_id,) = live.run_ids(JOB)
    assert _cancel_requests(live) == [f"/api/v2/accounts/{ACCOUNT}/runs/{run_id}/cancel/"]
    assert live.peek_run(run_id)["status"] == RunStatus.CANCELLED


# -- async cancellation --


async def _cancel_after_polls(emulator: DbtCloudEmulator, scope: anyio.CancelScope, polls: int = 3) -> None:
    while emulator.route_counts.get("get_run", 0) < polls:
        await anyio.sleep(0.02)
    scope.cancel()


@pytest.mark.anyio
async def test_a_cancelled_task_cancels_the_run(live: DbtCloudEmulator, creds_live: dict, tmp_path: Any) -> None:
    from dbt_kickoff.cloud import AsyncDbtCloud

    live.script_next_run(JOB, LONG_RUN)
    async with AsyncDbtCloud(creds_live, state_dir=tmp_path) as cloud:
        run = await cloud.trigger(JOB)
        async with anyio.create_task_group() as group:  # the orchestrator's cancel scope
            group.start_soon(_cancel_after_polls, live, group.cancel_scope)
            await cloud.wait(run, poll_interval=0.05, cancel_on_stop=True)
        assert group.cancel_scope.cancelled_caught
    assert _cancel_requests(live) == [f"/api/v2/accounts/{ACCOUNT}/runs/{run['id']}/cancel/"]
    assert live.peek_run(run["id"])["status"] == RunStatus.CANCELLED


@pytest.mark.anyio
async def test_asyncio_task_cancel_cancels_the_run_and_propagates(
    live: DbtCloudEmulator, creds_live: dict, tmp_path: Any
) -> None:
    import asyncio

    from dbt_kickoff.cloud import AsyncDbtCloud

    live.script_next_run(JOB, LONG_RUN)
    async with AsyncDbtCloud(creds_live, state_dir=tmp_path) as cloud:
        task = asyncio.create_task(cloud.run_job(JOB, poll_interval=0.05, cancel_on_stop=True))
        while live.route_counts.get("get_run", 0) < 3:
            await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        other = await cloud.trigger(JOB)  # the client still works after the cancellation
    (run_id, _) = live.run_ids(JOB)
    assert other["id"] != run_id
    assert _cancel_requests(live) == [f"/api/v2/accounts/{ACCOUNT}/runs/{run_id}/cancel/"]
    assert live.peek_run(run_id)["status"] == RunStatus.CANCELLED


@pytest.mark.anyio
async def test_a_cancelled_task_leaves_the_run_without_cancel_on_stop(
    live: DbtCloudEmulator, creds_live: dict, tmp_path: Any
) -> None:
    from dbt_kickoff.cloud import AsyncDbtCloud

    live.script_next_run(JOB, LONG_RUN)
    async with AsyncDbtCloud(creds_live, state_dir=tmp_path) as cloud:
        async with anyio.create_task_group() as group:
            group.start_soon(_cancel_after_polls, live, group.cancel_scope)
            await cloud.run_job(JOB, poll_interval=0.05)
    assert _cancel_requests(live) == []
    assert not RunStatus.of(live.peek_run(live.run_ids(JOB)[0])).is_terminal


# -- numbers are checked before anything is sent --

BAD_NUMBERS = [
    ({"wait_seconds": 0}, "wait_seconds"),
    ({"wait_seconds": -5}, "wait_seconds"),
    ({"wait_seconds": math.nan}, "wait_seconds"),
    ({"wait_seconds": math.inf}, "wait_seconds"),
    ({"wait_seconds": "10"}, "wait_seconds"),
    ({"wait_seconds": True}, "wait_seconds"),
    ({"wait_seconds": None}, "wait_seconds"),
    ({"timeout": -1}, "timeout"),
    ({"timeout": math.nan}, "timeout"),
    ({"timeout": -math.inf}, "timeout"),
    ({"timeout": "3600"}, "timeout"),
    ({"timeout": False}, "timeout"),
    ({"http_timeout": 0}, "http_timeout"),
    ({"http_timeout": math.nan}, "http_timeout"),
    ({"http_timeout": math.inf}, "http_timeout"),
]


@pytest.mark.parametrize(("options", "named"), BAD_NUMBERS)
def test_a_bad_number_fails_before_any_trigger(
    emulator: DbtCloudEmulator, creds: dict, options: dict, named: str
) -> None:
    with pytest.raises(ConfigurationError, match=named):
        run_dbt_cloud_job(creds, **options)
    assert emulator.requests == []
    with pytest.raises(ConfigurationError, match=named):
        get_dbt_cloud_run_status(creds, 1, **options)
    assert emulator.requests == []


@pytest.mark.parametrize(("options", "named"), BAD_NUMBERS[:12])
def test_run_job_checks_its_numbers_before_triggering(
    emulator: DbtCloudEmulator, cloud: Any, options: dict, named: str
) -> None:
    renamed = {"poll_interval" if k == "wait_seconds" else k: v for k, v in options.items()}
    with pytest.raises(ConfigurationError, match=named.replace("wait_seconds", "(wait_seconds|poll_interval)")):
        cloud.run_job(JOB, **renamed)
    assert emulator.requests == []


def test_an_infinite_timeout_means_no_limit(emulator: DbtCloudEmulator, cloud: Any) -> None:
    assert cloud.run_job(JOB, timeout=math.inf)["is_success"]


# -- secrets in step logs --


def test_step_logs_are_masked_with_the_token_and_every_known_secret(
    emulator: DbtCloudEmulator, make_cloud: Callable[..., Any]
) -> None:
    password = "warehouse-Pa55-0912"
    logs = (
        f"connecting with {TOKEN}\nusing password {password}\n"
        "url postgresql://loader:hunter2-secret@db:5432/x\nDatabase Error in model orders"
    )
    emulator.script_next_run(JOB, RunScript(outcome="error", step_logs={4: logs}))
    cloud = make_cloud(secrets=[password])
    with pytest.raises(DbtCloudRunFailed) as info:
        cloud.run_job(JOB)
    message = str(info.value)
    assert "Database Error in model orders" in message
    for secret in (TOKEN, password, "hunter2-secret"):
        assert secret not in message
    assert_no_token(info.value)


# -- the command line --


@pytest.mark.parametrize(
    ("command", "sig", "code", "cancel"),
    [
        ("run", signal.SIGTERM, 143, True),
        ("run", signal.SIGINT, 130, True),
        ("status", signal.SIGTERM, 143, True),
        ("run", signal.SIGTERM, 143, False),
    ],
)
def test_cli_signal_while_waiting_cancels_the_run(
    live: DbtCloudEmulator, command: str, sig: signal.Signals, code: int, cancel: bool
) -> None:
    """A real ``dbt-kickoff cloud run|status --wait`` process, stopped mid-wait."""
    live.script_next_run(JOB, RunScript(running_polls=100_000))
    target = str(JOB)
    if command == "status":
        with DbtCloud({"api_token": TOKEN, "account_id": ACCOUNT, "base_url": live.base_url}) as cloud:
            target = str(cloud.trigger(JOB)["id"])
    env = {
        **os.environ,
        "DBT_CLOUD__API_TOKEN": TOKEN,
        "DBT_CLOUD__ACCOUNT_ID": str(ACCOUNT),
        "DBT_CLOUD__BASE_URL": live.base_url,
    }
    args = [sys.executable, "-m", "dbt_kickoff.cli.main", "cloud", command, target, "--json"]
    args += ["--poll-interval", "0.05"] + (["--wait"] if command == "status" else [])
    args += [] if cancel else ["--no-cancel-on-stop"]
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while live.route_counts.get("get_run", 0) < 3 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == code, err
    payload = json.loads(out)
    (run_id,) = live.run_ids(JOB)
    assert payload["outcome"] == "stopped" and payload["run"]["id"] == run_id
    assert signal.Signals(sig).name in payload["error"]
    assert TOKEN not in out + err
    if cancel:
        assert payload["run"]["status_humanized"] == "Cancelled" and "was cancelled" in payload["error"]
        assert _cancel_requests(live) == [f"/api/v2/accounts/{ACCOUNT}/runs/{run_id}/cancel/"]
        assert live.peek_run(run_id)["status"] == RunStatus.CANCELLED
    else:
        assert "left running" in payload["error"]
        assert _cancel_requests(live) == []
        assert live.peek_run(run_id)["status"] == RunStatus.RUNNING


@pytest.mark.parametrize("flag", [["--poll-interval", "-1"], ["--poll-interval", "nan"], ["--timeout", "-3"]])
def test_cli_bad_numbers_exit_2_before_any_trigger(
    live: DbtCloudEmulator, capsys: pytest.CaptureFixture[str], flag: list[str]
) -> None:
    from dbt_kickoff.cli.main import main

    assert main(["cloud", "run", str(JOB), *flag]) == 2
    assert flag[0].lstrip("-").split("-")[0] in capsys.readouterr().err
    assert live.requests == []
