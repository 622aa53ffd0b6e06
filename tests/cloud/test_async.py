"""What only the async runner has: the interface orchestrators await, concurrency on one event loop, and
parity of names and arguments with the sync runner. (Fault scenarios run on both flavors in test_runs.py and
test_client.py; stops and cancellation in test_stop.py.)"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import anyio
import pytest

from dbt_kickoff.cloud import (
    AsyncDbtCloud,
    AsyncDbtCloudClient,
    DbtCloud,
    DbtCloudClient,
    DbtCloudRunFailed,
    DbtCloudWaitTimeout,
    RunStatus,
)
from dbt_kickoff_emulator import DbtCloudEmulator, RunScript
from tests.cloud.conftest import ACCOUNT, JOB, TOKEN

pytestmark = pytest.mark.anyio


@pytest.fixture
def env(live: DbtCloudEmulator, monkeypatch: pytest.MonkeyPatch) -> DbtCloudEmulator:
    monkeypatch.setenv("DBT_CLOUD__API_TOKEN", TOKEN)
    monkeypatch.setenv("DBT_CLOUD__ACCOUNT_ID", str(ACCOUNT))
    monkeypatch.setenv("DBT_CLOUD__BASE_URL", live.base_url)
    return live


async def test_the_interface_an_airflow_trigger_awaits(env: DbtCloudEmulator, tmp_path: Path) -> None:
    env.script_next_run(JOB, RunScript(running_polls=3))
    cloud = AsyncDbtCloud(credentials=None, state_dir=tmp_path)  # credentials from DBT_CLOUD__*
    try:
        run = await cloud.trigger(JOB, data={"git_branch": "main"}, idempotency_key="dag.task.2026-11-30")
        assert (await cloud.get_run(run["id"]))["id"] == run["id"]
        done = await cloud.wait(run["id"], timeout=60, poll_interval=0.02)
        assert done["status"] == RunStatus.SUCCESS and done["is_success"]
        results = await cloud.node_results(done)
        assert "model.analytics.orders" in {r.unique_id for r in results}
        assert (await cloud.cancel(run["id"]))["status"] == RunStatus.SUCCESS  # a finished run stays as it was
    finally:
        await cloud.aclose()
    assert env.trigger_body(run["id"])["git_branch"] == "main"
    async with AsyncDbtCloud(state_dir=tmp_path) as retried:  # the task's retry: same key, same run
        again = await retried.trigger(JOB, data={"git_branch": "main"}, idempotency_key="dag.task.2026-11-30")
    assert again["id"] == run["id"] and env.run_ids(JOB) == [run["id"]]


async def test_outcomes_are_the_sync_ones(env: DbtCloudEmulator, tmp_path: Path) -> None:
    env.script_next_run(JOB, RunScript(outcome="error", step_logs={4: "Database Error in model orders"}))
    async with AsyncDbtCloud(state_dir=tmp_path) as cloud:
        with pytest.raises(DbtCloudRunFailed, match="Database Error in model orders"):
            await cloud.run_job(JOB, poll_interval=0.02)
        env.script_next_run(JOB, RunScript(running_polls=100_000))
        with pytest.raises(DbtCloudWaitTimeout) as info:
            await cloud.run_job(JOB, poll_interval=0.02, timeout=0.2, cancel_on_timeout=True)
    assert info.value.cancelled and env.peek_run(info.value.run_id)["status"] == RunStatus.CANCELLED


async def test_waits_share_one_event_loop(env: DbtCloudEmulator, tmp_path: Path) -> None:
    env.default_script = RunScript(running_polls=5)
    ticks = 0
    finished: list[dict[str, Any]] = []
    async with AsyncDbtCloud(state_dir=tmp_path) as cloud:
        runs = [await cloud.trigger(JOB) for _ in range(3)]

        async def wait(run: dict[str, Any]) -> None:
            finished.append(await cloud.wait(run, poll_interval=0.02))

        async def ticker() -> None:
            nonlocal ticks
            while len(finished) < len(runs):
                ticks += 1
                await anyio.sleep(0.01)

        async with anyio.create_task_group() as group:
            group.start_soon(ticker)
            for run in runs:
                group.start_soon(wait, run)
    assert sorted(r["id"] for r in finished) == sorted(r["id"] for r in runs)
    assert all(r["is_success"] for r in finished)
    assert ticks > 1  # the loop kept running other tasks while the waits were polling
    assert cloud.client.closed


def _public(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_") and name not in ("close", "aclose", "paginate")
    }


@pytest.mark.parametrize(("sync", "asynchronous"), [(DbtCloud, AsyncDbtCloud), (DbtCloudClient, AsyncDbtCloudClient)])
async def test_async_methods_mirror_the_sync_ones(sync: type, asynchronous: type) -> None:
    sync_methods, async_methods = _public(sync), _public(asynchronous)
    assert set(sync_methods) == set(async_methods)
    for name, signature in sync_methods.items():
        member = getattr(asynchronous, name)
        if name in ("api_path", "api_v3_path", "scrub", "job_id", "bounded"):  # helpers shared by both
            assert member is getattr(sync, name)
            continue
        assert inspect.iscoroutinefunction(member), name
        assert list(async_methods[name].parameters) == list(signature.parameters), name
        defaults = [p.default for p in signature.parameters.values()]
        assert [p.default for p in async_methods[name].parameters.values()] == defaults, name
    assert list(inspect.signature(asynchronous).parameters) == list(inspect.signature(sync).parameters)
