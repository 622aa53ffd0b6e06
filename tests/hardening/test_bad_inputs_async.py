"""Bad input to the async dbt Cloud runner: a ConfigurationError naming the option, raised when the method is
awaited and before any request (the emulator, a real HTTP server, must have received nothing at all).

Each case runs inside the ``guard`` sandbox, which fails the test if a process was started or a file written.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest

from dbt_kickoff.cloud import AsyncDbtCloud, DbtCloud
from dbt_kickoff.cloud.emulator import DbtCloudEmulator
from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.validation import validated
from tests.hardening.conftest import JOB, Guard

NAN, INF = math.nan, math.inf

Call = Callable[[AsyncDbtCloud], Awaitable[Any]]

METHODS: list[tuple[str, Call, str]] = [
    # trigger(): which job, and how
    ("trigger job_id negative", lambda c: c.trigger(-3), "job_id"),
    ("trigger job_id text", lambda c: c.trigger("abc"), "job_id"),
    ("trigger job_id float", lambda c: c.trigger(1.5), "job_id"),
    ("trigger job_id bool", lambda c: c.trigger(True), "job_id"),
    ("trigger data str", lambda c: c.trigger(JOB, "git_sha=abc"), "data"),
    ("trigger data int keys", lambda c: c.trigger(JOB, {1: "x"}), "data"),
    ("trigger idempotency_key empty", lambda c: c.trigger(JOB, idempotency_key=""), "idempotency_key"),
    ("trigger idempotency_key int", lambda c: c.trigger(JOB, idempotency_key=7), "idempotency_key"),
    ("trigger attach_to_running str", lambda c: c.trigger(JOB, attach_to_running="yes"), "attach_to_running"),
    ("trigger rerun_from_failure int", lambda c: c.trigger(JOB, rerun_from_failure=1), "rerun_from_failure"),
    ("trigger unknown option", lambda c: c.trigger(JOB, idempotency="k"), "'idempotency_key'"),
    # run_job(): every wait option is checked before the trigger
    ("run_job poll_interval zero", lambda c: c.run_job(JOB, poll_interval=0), "poll_interval"),
    ("run_job poll_interval negative", lambda c: c.run_job(JOB, poll_interval=-1), "poll_interval"),
    ("run_job poll_interval nan", lambda c: c.run_job(JOB, poll_interval=NAN), "poll_interval"),
    ("run_job poll_interval inf", lambda c: c.run_job(JOB, poll_interval=INF), "poll_interval"),
    ("run_job poll_interval str", lambda c: c.run_job(JOB, poll_interval="10"), "poll_interval"),
    ("run_job timeout negative", lambda c: c.run_job(JOB, timeout=-5), "timeout"),
    ("run_job timeout nan", lambda c: c.run_job(JOB, timeout=NAN), "timeout"),
    ("run_job timeout -inf", lambda c: c.run_job(JOB, timeout=-INF), "timeout"),
    ("run_job timeout str", lambda c: c.run_job(JOB, timeout="1h"), "timeout"),
    ("run_job timeout bool", lambda c: c.run_job(JOB, timeout=True), "timeout"),
    ("run_job wait str", lambda c: c.run_job(JOB, wait="no"), "wait"),
    ("run_job cancel_on_timeout int", lambda c: c.run_job(JOB, cancel_on_timeout=1), "cancel_on_timeout"),
    ("run_job raise_on_failure none", lambda c: c.run_job(JOB, raise_on_failure=None), "raise_on_failure"),
    ("run_job on_poll str", lambda c: c.run_job(JOB, on_poll="print"), "on_poll"),
    ("run_job cancel_on_stop str", lambda c: c.run_job(JOB, cancel_on_stop="true"), "cancel_on_stop"),
    ("run_job unknown option", lambda c: c.run_job(JOB, poll_intervall=5), "'poll_interval'"),
    # wait(): the run and the numbers
    ("wait run zero", lambda c: c.wait(0), "run"),
    ("wait run text", lambda c: c.wait("run-12"), "run"),
    ("wait run None", lambda c: c.wait(None), "run"),
    ("wait run dict without id", lambda c: c.wait({"status": 10}), "run"),
    ("wait run dict with a bad id", lambda c: c.wait({"id": -4}), "run['id']"),
    ("wait poll_interval nan", lambda c: c.wait(1, poll_interval=NAN), "poll_interval"),
    ("wait timeout negative", lambda c: c.wait(1, timeout=-1), "timeout"),
    ("wait just_triggered str", lambda c: c.wait(1, just_triggered="yes"), "just_triggered"),
    # the other methods
    ("get_run run_id zero", lambda c: c.get_run(0), "run_id"),
    ("get_run run_id text", lambda c: c.get_run("12a"), "run_id"),
    ("get_run include_related str", lambda c: c.get_run(1, "run_steps"), "include_related"),
    ("cancel run_id negative", lambda c: c.cancel(-1), "run_id"),
    ("node_results run float", lambda c: c.node_results(2.5), "run"),
    ("find_job project_name empty", lambda c: c.find_job(project_name="", environment_name="prod", job_name="x"),
     "project_name"),
    ("find_job job_name int", lambda c: c.find_job(project_name="p", environment_name="prod", job_name=5),
     "job_name"),
    ("download_artifacts step zero", lambda c: c.download_artifacts(1, "out", step=0), "step"),
    ("download_artifacts paths str", lambda c: c.download_artifacts(1, "out", paths="manifest.json"), "paths"),
]

CONSTRUCTOR: list[tuple[str, dict[str, Any], str]] = [
    ("http_timeout zero", {"http_timeout": 0}, "http_timeout"),
    ("http_timeout nan", {"http_timeout": NAN}, "http_timeout"),
    ("http_timeout inf", {"http_timeout": INF}, "http_timeout"),
    ("http_timeout str", {"http_timeout": "30"}, "http_timeout"),
    ("state_dir int", {"state_dir": 5}, "state_dir"),
    ("unknown option", {"http_timout": 5}, "'http_timeout'"),
]


def no_request_was_sent(emulator: DbtCloudEmulator) -> None:
    assert emulator.run_ids() == []
    assert emulator.requests == []  # not even a status check or a listing


@pytest.mark.parametrize(("call", "option"), [case[1:] for case in METHODS], ids=[case[0] for case in METHODS])
def test_async_method_bad_input_raises_before_any_request(
    guard: Guard, emulator: DbtCloudEmulator, cloud_credentials: dict[str, Any], call: Call, option: str,
) -> None:
    async def scenario() -> None:
        async with AsyncDbtCloud(cloud_credentials, state_dir=guard.root / "state") as cloud:
            pending = call(cloud)  # calling only makes a coroutine: nothing runs and nothing is checked yet
            assert inspect.iscoroutine(pending)
            with pytest.raises(ConfigurationError) as caught:
                await pending
        message = str(caught.value)
        assert option in message and "AsyncDbtCloud." in message, message

    anyio.run(scenario)
    no_request_was_sent(emulator)


@pytest.mark.parametrize(("options", "option"), [case[1:] for case in CONSTRUCTOR],
                         ids=[case[0] for case in CONSTRUCTOR])
def test_async_constructor_bad_input_raises_at_once(
    guard: Guard, emulator: DbtCloudEmulator, cloud_credentials: dict[str, Any], options: dict[str, Any],
    option: str,
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        AsyncDbtCloud(cloud_credentials, **options)
    assert option in str(caught.value) and "AsyncDbtCloud()" in str(caught.value)
    no_request_was_sent(emulator)


def test_the_async_runner_checks_what_the_sync_one_checks(
    guard: Guard, emulator: DbtCloudEmulator, cloud_credentials: dict[str, Any],
) -> None:
    """One declarative layer: the same bad value gets the same message from both runners."""
    async def asynchronous() -> str:
        async with AsyncDbtCloud(cloud_credentials) as cloud:
            with pytest.raises(ConfigurationError) as caught:
                await cloud.run_job(JOB, poll_interval=NAN)
        return str(caught.value)

    with DbtCloud(cloud_credentials) as cloud, pytest.raises(ConfigurationError) as sync_error:
        cloud.run_job(JOB, poll_interval=NAN)
    assert anyio.run(asynchronous).replace("AsyncDbtCloud", "DbtCloud") == str(sync_error.value)
    no_request_was_sent(emulator)


def test_a_validated_coroutine_function_stays_one_and_checks_before_its_body() -> None:
    started: list[float] = []

    @validated
    async def wait(poll_interval: float = 1.0) -> float:
        started.append(poll_interval)
        return poll_interval

    assert inspect.iscoroutinefunction(wait)
    assert anyio.run(wait, 0.5) == 0.5 and started == [0.5]
    with pytest.raises(ConfigurationError, match="wait\\(\\): poll_interval must be"):
        anyio.run(wait, -1)
    assert started == [0.5]  # the body never ran


def test_at_least_fifteen_async_bad_inputs_are_covered() -> None:
    assert len(METHODS) + len(CONSTRUCTOR) >= 15
