"""Fixtures for the dbt Cloud runner tests: the real emulator over HTTP on a shared fake clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal

from dbt_kickoff.cloud import (
    AsyncDbtCloud,
    AsyncDbtCloudClient,
    DbtCloud,
    DbtCloudClient,
    resolve_credentials,
)
from dbt_kickoff_emulator import DbtCloudEmulator, FakeClock
from tests.cloud.flavors import make_blocking

TOKEN = "dbtc_Kx9-secret-token-value-7731"
ACCOUNT = 7
JOB = 70403103900042


@pytest.fixture(autouse=True)
def private_state_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The user's state folder (idempotency ledger, event cursors, run records) is the test's own."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))


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
def live() -> Iterator[DbtCloudEmulator]:
    """An emulator on real time (for waits that really sleep, subprocesses and async cancellation)."""
    with DbtCloudEmulator() as emu:
        emu.add_account(ACCOUNT, "Live tests")
        emu.add_token(TOKEN, account_ids=[ACCOUNT])
        emu.add_job(ACCOUNT, JOB, "Daily build", execute_steps=["dbt build"])
        yield emu


@pytest.fixture
def creds_live(live: DbtCloudEmulator, tmp_path: Path) -> dict[str, Any]:
    return {"api_token": TOKEN, "account_id": ACCOUNT, "job_id": JOB, "base_url": live.base_url}


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["sync", "async"])
def flavor(request: pytest.FixtureRequest) -> str:
    """Which runner/client a test drives: the sync one, or the async one through a blocking portal."""
    return str(request.param)


@pytest.fixture
def portal(flavor: str) -> Iterator[BlockingPortal | None]:
    """An event loop in a thread for the async flavor (``None`` for sync)."""
    if flavor == "sync":
        yield None
        return
    with start_blocking_portal("asyncio") as running:
        yield running


@pytest.fixture
def make_cloud(
    portal: BlockingPortal | None, creds: dict[str, Any], fake_clock: FakeClock, state_dir: Path
) -> Iterator[Callable[..., Any]]:
    """``make_cloud(credentials=None, **options)``: a ``DbtCloud``, or an ``AsyncDbtCloud`` seen as sync; by
    default on the fake clock with the test's state folder. Everything made is closed at the end."""
    with ExitStack() as made:

        def make(credentials: Any = None, **options: Any) -> Any:
            options = {"clock": fake_clock, "state_dir": state_dir, "http_timeout": 5, **options}
            given = creds if credentials is None else credentials
            if portal is None:
                return made.enter_context(DbtCloud(given, **options))
            return made.enter_context(make_blocking(portal, lambda: AsyncDbtCloud(given, **options)))

        yield make


@pytest.fixture
def make_client(portal: BlockingPortal | None, fake_clock: FakeClock) -> Iterator[Callable[..., Any]]:
    """``make_client(credentials, **options)``: a ``DbtCloudClient``, or an ``AsyncDbtCloudClient`` seen as
    sync (fake clock unless ``clock=`` is given)."""
    with ExitStack() as made:

        def make(credentials: Any, **options: Any) -> Any:
            options = {"clock": fake_clock, **options}
            resolved = resolve_credentials(credentials)
            if portal is None:
                return made.enter_context(DbtCloudClient(resolved, **options))
            return made.enter_context(make_blocking(portal, lambda: AsyncDbtCloudClient(resolved, **options)))

        yield make


@pytest.fixture
def cloud(make_cloud: Callable[..., Any]) -> Any:
    """A runner (sync, or async through a portal) whose sleeps advance the emulator's fake clock."""
    return make_cloud()


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
