"""Benchmark of following a dbt Cloud run (issue 21): requests per 10-minute run and node event latency.

A 10-minute run of a 200-node ``dbt build`` job on the emulator's fake clock (no real waiting), default client
settings (poll interval 10 s). Variants: a plain wait (the status only), a wait with ``on_event`` (node events
from the steps' logs), and with ``on_event``, ``fail_fast`` and a run record; each with the sync ``DbtCloud``
and the async ``AsyncDbtCloud``, which must send the same requests. Latency is the time on the run's clock from a
node finishing (its ``completed_at`` in the step's ``run_results.json``) to its event reaching ``on_event``. A last
variant runs the whole build between two polls, so its debug log outgrows the 1,000-line window: the lost nodes
come from the step's ``run_results.json`` (one more request).

Targets: status requests unchanged (60 for a 10-minute run), no request per poll interval beyond that one read,
and every event within one poll interval of its node finishing.

    .venv/bin/python bench/bench_cloud_events.py          # or: ./dev bench cloud_events
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio
import httpx

from dbt_kickoff.cloud import AsyncDbtCloud, DbtCloud, DbtCloudRunFailed
from dbt_kickoff.cloud.runs import DEFAULT_POLL_INTERVAL
from dbt_kickoff.engines import DbtEvent
from dbt_kickoff_emulator import DbtCloudEmulator, FakeClock, RunScript

TOKEN = "dbtc_bench-token"
ACCOUNT, JOB = 1, 42
STATUS_TARGET = 60
NODES = [f"seed.analytics.raw_{i:02d}" for i in range(10)] + [
    uid for i in range(140) for uid in (f"model.analytics.model_{i:03d}",
                                        *([f"test.analytics.not_null_model_{i:03d}.{i:04x}"] if i < 50 else []))
]
TEN_MINUTES = RunScript(nodes=NODES, queued_polls=0, starting_polls=0, running_polls=0, queued_seconds=30,
                        starting_seconds=30, running_seconds=540)
BETWEEN_TWO_POLLS = RunScript(nodes=NODES, queued_polls=1, starting_polls=1, running_polls=1)


@dataclass
class Measurement:
    variant: str
    client: str
    outcome: str
    status_requests: int
    requests: Counter[str]
    events: int
    latency_max: float | None
    latency_mean: float | None
    wall_seconds: float


def _options(variant: str, events: list[tuple[datetime, DbtEvent]], clock: FakeClock, records: Path) -> dict[str, Any]:
    if variant == "plain wait":
        return {"records": False}
    follow: dict[str, Any] = {"on_event": lambda event: events.append((clock.now(), event))}
    if variant.startswith("events + fail_fast + record"):
        return {**follow, "fail_fast": True, "records": records}
    return {**follow, "records": False}


def _run_sync(credentials: dict[str, Any], options: dict[str, Any], clock: FakeClock, state: Path,
              on_poll: Any) -> str:
    with DbtCloud(credentials, clock=clock, state_dir=state) as cloud:
        try:
            cloud.run_job(JOB, on_poll=on_poll, **options)
        except DbtCloudRunFailed:
            return "failed"
    return "success"


async def _run_async(credentials: dict[str, Any], options: dict[str, Any], clock: FakeClock, state: Path,
                     on_poll: Any) -> str:
    async with AsyncDbtCloud(credentials, clock=clock, state_dir=state) as cloud:
        try:
            await cloud.run_job(JOB, on_poll=on_poll, **options)
        except DbtCloudRunFailed:
            return "failed"
    return "success"


def _finished_at(emulator: DbtCloudEmulator, run_id: int) -> dict[str, datetime]:
    """When each node finished, from the build step's run_results.json (read after the counting)."""
    with httpx.Client(base_url=emulator.base_url, headers={"Authorization": f"Token {TOKEN}"}) as client:
        document = client.get(f"/api/v2/accounts/{ACCOUNT}/runs/{run_id}/artifacts/run_results.json",
                              params={"step": 4}).json()
    ends = {}
    for entry in document["results"]:
        timing = entry.get("timing") or []
        if timing:
            ends[entry["unique_id"]] = datetime.fromisoformat(timing[-1]["completed_at"].replace("Z", "+00:00"))
    return ends


def measure(variant: str, client: str, script: RunScript) -> Measurement:
    clock = FakeClock()
    with DbtCloudEmulator(clock=clock) as emulator, tempfile.TemporaryDirectory() as folder:
        emulator.add_account(ACCOUNT, "Bench")
        emulator.add_token(TOKEN, account_ids=[ACCOUNT])
        emulator.add_job(ACCOUNT, JOB, "Bench build", execute_steps=["dbt build"])
        credentials = {"api_token": TOKEN, "account_id": ACCOUNT, "base_url": emulator.base_url}
        state = Path(folder) / "state"
        emulator.script_next_run(JOB, RunScript(nodes=NODES))
        _run_sync(credentials, {"records": False}, clock, state, None)  # the job's manifest, as in production
        emulator.clear_requests()
        emulator.script_next_run(JOB, script)
        events: list[tuple[datetime, DbtEvent]] = []
        options = _options(variant, events, clock, Path(folder) / "records")
        polls = []
        started = time.perf_counter()
        if client == "sync":
            outcome = _run_sync(credentials, options, clock, state, polls.append)
        else:
            outcome = anyio.run(_run_async, credentials, options, clock, state, polls.append)
        wall = time.perf_counter() - started
        requests = Counter(emulator.route_counts)
        latencies: list[float] = []
        if events:
            ends = _finished_at(emulator, emulator.run_ids(JOB)[-1])
            latencies = [(moment - ends[e.node.unique_id]).total_seconds() for moment, e in events
                         if e.finished and e.node is not None and e.node.unique_id in ends]
        return Measurement(variant, client, outcome, len(polls), requests,
                           sum(1 for _, e in events if e.finished), max(latencies) if latencies else None,
                           sum(latencies) / len(latencies) if latencies else None, wall)


def main() -> int:
    logging.getLogger("dbt_kickoff").setLevel(logging.ERROR)
    variants = [("plain wait", TEN_MINUTES), ("events", TEN_MINUTES), ("events + fail_fast + record", TEN_MINUTES),
                ("events, build between two polls", BETWEEN_TWO_POLLS)]
    print(f"following a 200-node dbt Cloud run, default settings (poll interval {DEFAULT_POLL_INTERVAL:g} s), "
          "fake clock")
    header = (f"{'variant':<34} {'client':<6} {'status GETs':>11} {'other requests':<44} {'events':>6} "
              f"{'latency max/mean s':>18} {'wall s':>7}")
    print(header)
    print("-" * len(header))
    ok = same = True
    for variant, script in variants:
        pair = [measure(variant, client, script) for client in ("sync", "async")]
        for m in pair:
            others = ", ".join(f"{route} {count}" for route, count in sorted(m.requests.items()) if route != "get_run")
            latency = "-" if m.latency_max is None else f"{m.latency_max:.1f} / {m.latency_mean:.1f}"
            print(f"{m.variant:<34} {m.client:<6} {m.status_requests:>11} {others:<44} {m.events:>6} "
                  f"{latency:>18} {m.wall_seconds:>7.2f}")
            if script is TEN_MINUTES:
                ok = ok and m.status_requests <= STATUS_TARGET and m.requests["get_run"] == m.status_requests
                ok = ok and (m.latency_max is None or m.latency_max <= DEFAULT_POLL_INTERVAL)
                ok = ok and (m.variant == "plain wait" or m.events == len(NODES))
        same = same and pair[0].requests == pair[1].requests and pair[0].events == pair[1].events
    print(f"targets (<= {STATUS_TARGET} status GETs, one GET per poll, every event within "
          f"{DEFAULT_POLL_INTERVAL:g} s of its node): {'met' if ok else 'MISSED'}")
    print(f"async sends the same requests and events as sync: {'yes' if same else 'NO'}")
    return 0 if ok and same else 1


if __name__ == "__main__":
    sys.exit(main())
