"""Benchmark of the dbt Cloud runners: requests sent and outcome-detection delay for a 10-minute run.

Runs entirely on the emulator's fake clock (no real waiting): the client's sleeps advance the clock the
emulator's runs progress by. Default client settings (poll interval 10 s, default retry policy). Each scenario
runs with the sync ``DbtCloud`` and the async ``AsyncDbtCloud``; both must send the same requests, and the
wall-clock ratio async/sync shows what the async shell costs (the decisions are shared).
Targets: at most 60 status requests, and the outcome known within one poll interval of the run's end. The waits
here neither follow nor record the run; ``bench_cloud_events.py`` measures that.

    .venv/bin/python bench/bench_cloud.py
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import anyio

from dbt_kickoff.cloud import AsyncDbtCloud, DbtCloud, DbtCloudRunFailed
from dbt_kickoff.cloud.runs import DEFAULT_POLL_INTERVAL
from dbt_kickoff_emulator import DbtCloudEmulator, FakeClock, Faults, RunScript

TOKEN = "dbtc_bench-token"
ACCOUNT, JOB = 1, 42
RUN_SECONDS = 600.0
STATUS_TARGET = 60
STATE = tempfile.mkdtemp(prefix="bench-cloud-state-")  # the waits here leave no record (see bench_cloud_events.py)


@dataclass
class Scenario:
    name: str
    script: RunScript
    faults: Callable[[Faults], Any] | None = None
    targeted: bool = False  # the targets apply (a clean 10-minute run)


@dataclass
class Measurement:
    name: str
    client: str
    outcome: str
    run_seconds: float
    status_requests: int
    total_requests: int
    detection_delay: float
    wall_seconds: float


def _script(queued: float, starting: float, running: float, outcome: str = "success") -> RunScript:
    return RunScript(
        queued_polls=0,
        starting_polls=0,
        running_polls=0,
        queued_seconds=queued,
        starting_seconds=starting,
        running_seconds=running,
        outcome=outcome,  # type: ignore[arg-type]
    )


SCENARIOS = [
    Scenario("success, 10 min", _script(30, 30, RUN_SECONDS - 60), targeted=True),
    Scenario("error, 10 min", _script(30, 30, RUN_SECONDS - 60, "error"), targeted=True),
    Scenario("success, 10 min + 3.7 s", _script(30, 30, RUN_SECONDS - 60 + 3.7)),
    Scenario(
        "success, 10 min, 5xx every 7th GET",
        _script(30, 30, RUN_SECONDS - 60),
        lambda f: [f.fail(503, route="get_run", after=7 * n, times=1) for n in range(1, 9)],
    ),
    Scenario(
        "success, 10 min, 429 (Retry-After 20 s)",
        _script(30, 30, RUN_SECONDS - 60),
        lambda f: f.fail(429, route="get_run", after=20, times=1, retry_after=20),
    ),
]


def _parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace(" ", "T"))


def _wait_sync(credentials: dict[str, Any], clock: FakeClock, on_poll: Callable[[Any], None]) -> tuple[Any, str]:
    with DbtCloud(credentials, clock=clock, records=False, state_dir=STATE) as cloud:
        run = cloud.trigger(JOB)
        try:
            return cloud.wait(run, on_poll=on_poll, just_triggered=True), "success"
        except DbtCloudRunFailed as exc:
            return exc.run, "failed"


async def _wait_async(
    credentials: dict[str, Any], clock: FakeClock, on_poll: Callable[[Any], None]
) -> tuple[Any, str]:
    async with AsyncDbtCloud(credentials, clock=clock, records=False, state_dir=STATE) as cloud:
        run = await cloud.trigger(JOB)
        try:
            return await cloud.wait(run, on_poll=on_poll, just_triggered=True), "success"
        except DbtCloudRunFailed as exc:
            return exc.run, "failed"


def measure(scenario: Scenario, client: str) -> Measurement:
    clock = FakeClock()
    with DbtCloudEmulator(clock=clock) as emulator:
        emulator.add_account(ACCOUNT, "Bench")
        emulator.add_token(TOKEN, account_ids=[ACCOUNT])
        emulator.add_job(ACCOUNT, JOB, "Bench build", execute_steps=["dbt build"], script=scenario.script)
        if scenario.faults is not None:
            scenario.faults(emulator.faults)
        credentials = {"api_token": TOKEN, "account_id": ACCOUNT, "base_url": emulator.base_url}
        status_requests = 0

        def count(_: dict[str, Any]) -> None:
            nonlocal status_requests
            status_requests += 1

        started = time.perf_counter()
        if client == "sync":
            run, outcome = _wait_sync(credentials, clock, count)
        else:
            run, outcome = anyio.run(_wait_async, credentials, clock, count)
        wall = time.perf_counter() - started
        detected = clock.now()
        final = emulator.peek_run(int(run["id"]))
        # The emulator applies a due transition when it is next observed, so its finished_at is the moment of
        # detection; the run's true end is its creation plus the scripted seconds (the 30 s phases line up
        # with the 10 s polls, so no phase starts late).
        script = scenario.script
        run_seconds = script.queued_seconds + script.starting_seconds + script.running_seconds
        return Measurement(
            name=scenario.name,
            client=client,
            outcome=outcome,
            run_seconds=run_seconds,
            status_requests=status_requests,
            total_requests=len(emulator.requests),
            detection_delay=(detected - _parse(final["created_at"])).total_seconds() - run_seconds,
            wall_seconds=wall,
        )


def main() -> int:
    logging.getLogger("dbt_kickoff").setLevel(logging.ERROR)  # retries of the fault scenarios log warnings
    pairs = [(measure(s, "sync"), measure(s, "async")) for s in SCENARIOS]
    header = (
        f"{'scenario':<42} {'client':<6} {'outcome':<8} {'run s':>7} {'status GETs':>11} {'all reqs':>8} "
        f"{'delay s':>8} {'wall s':>7}"
    )
    print(f"dbt Cloud runners, default settings (poll interval {DEFAULT_POLL_INTERVAL:g} s), fake clock")
    print(header)
    print("-" * len(header))
    ok = same = True
    for pair, scenario in zip(pairs, SCENARIOS, strict=True):
        for m in pair:
            numbers = (
                f"{m.run_seconds:>7.1f} {m.status_requests:>11} {m.total_requests:>8} {m.detection_delay:>8.1f} "
                f"{m.wall_seconds:>7.2f}"
            )
            print(f"{m.name:<42} {m.client:<6} {m.outcome:<8} {numbers}")
            if scenario.targeted:
                ok = ok and m.status_requests <= STATUS_TARGET and m.detection_delay <= DEFAULT_POLL_INTERVAL
        sync, asynchronous = pair
        same = same and (sync.status_requests, sync.total_requests, sync.outcome) == (
            asynchronous.status_requests,
            asynchronous.total_requests,
            asynchronous.outcome,
        )
    ratio = sum(a.wall_seconds for _, a in pairs) / sum(s.wall_seconds for s, _ in pairs)
    targets = f"<= {STATUS_TARGET} status GETs, delay <= {DEFAULT_POLL_INTERVAL:g} s"
    print(f"targets on the clean 10-minute runs ({targets}): {'met' if ok else 'MISSED'}")
    print(f"async sends the same requests as sync: {'yes' if same else 'NO'}")
    print(f"wall-clock ratio async/sync over all scenarios: {ratio:.2f}")
    return 0 if ok and same else 1


if __name__ == "__main__":
    sys.exit(main())
