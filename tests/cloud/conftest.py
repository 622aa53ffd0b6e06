"""Fixtures for the dbt Cloud runner tests: the real emulator over HTTP on a shared fake clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dbt_kickoff.cloud import DbtCloud
from dbt_kickoff.cloud.emulator import DbtCloudEmulator, FakeClock

TOKEN = "dbtc_Kx9-secret-token-value-7731"
ACCOUNT = 7
JOB = 70403103900042


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def emulator(fake_clock: FakeClock) -> Iterator[DbtCloudEmulator]:
    """A started emulator on the fake clock: account 7, token ``TOKEN``, job ``JOB`` (build + docs)."""
    with DbtCloudEmulator(clock=fake_clock) as emu:
        emu.add_account(ACCOUNT, "Kickoff tests")
        emu.add_token(TOKEN, account_ids=[ACCOUNT])
        emu.add_job(ACCOUNT, JOB, "Daily build", execute_steps=["dbt seed", "dbt build"], generate_docs=True)
        yield emu


@pytest.fixture
def creds(emulator: DbtCloudEmulator) -> dict[str, Any]:
    return {"api_token": TOKEN, "account_id": ACCOUNT, "job_id": JOB, "base_url": emulator.base_url}


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def cloud(creds: dict[str, Any], fake_clock: FakeClock, state_dir: Path) -> Iterator[DbtCloud]:
    """A runner whose sleeps advance the emulator's fake clock (no real waiting)."""
    with DbtCloud(creds, clock=fake_clock, state_dir=state_dir, http_timeout=5) as runner:
        yield runner


def exception_chain(exc: BaseException | None) -> list[BaseException]:
    """``exc`` and every exception reachable through ``__cause__``/``__context__``."""
    seen: list[BaseException] = []
    stack = [exc]
    while stack:
        item = stack.pop()
        if item is None or any(item is s for s in seen):
            continue
        seen.append(item)
        stack.extend([item.__cause__, item.__context__])
    return seen


def assert_no_token(exc: BaseException) -> None:
    for item in exception_chain(exc):
        for text in (str(item), repr(item), *map(str, item.args)):
            assert TOKEN not in text, f"token leaked in {type(item).__name__}"
