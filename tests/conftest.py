from __future__ import annotations

import signal
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.postgres_server import PostgresServer, start_postgres
from tests.tiers import GUARD, TIER_MARKERS, TierViolation, markers_of, unmarked

TESTS = Path(__file__).parent


def pytest_configure(config: pytest.Config) -> None:
    """Tests press Ctrl-C in child processes (SIGINT): a suite started in the background by a non-interactive
    shell inherits SIGINT ignored, and so would every child. Restore Python's handler so children start with
    SIGINT at its default."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test ``dbt`` / ``server`` / ``venv`` from its fixtures and its module (see tests/tiers.py)."""
    for item in items:
        path = Path(str(item.path)).resolve()
        relative = path.relative_to(TESTS).as_posix() if path.is_relative_to(TESTS) else path.name
        have = {mark.name for mark in item.iter_markers()}
        for marker in sorted(markers_of(relative, getattr(item, "fixturenames", ())) - have):
            item.add_marker(marker)


def _watched(item: pytest.Item) -> Generator[None, Any, Any]:
    """Run a test phase under the tier guard; fail a fast-tier test that started dbt, a server or a venv."""
    markers = {mark.name for mark in item.iter_markers()} & set(TIER_MARKERS)
    GUARD.begin(item.nodeid, markers)
    try:
        result = yield
    except BaseException as exc:
        found = GUARD.end()
        if found and not markers:
            raise TierViolation(unmarked(item.nodeid, found)) from exc
        raise
    found = GUARD.end()
    if found and not markers:
        raise TierViolation(unmarked(item.nodeid, found))
    if found:
        item.warn(pytest.PytestWarning(unmarked(item.nodeid, found)))
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, Any, Any]:
    return (yield from _watched(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    return (yield from _watched(item))


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for the whole test session (user kickoff, database postgres)."""
    server, stop = start_postgres()
    try:
        yield server
    finally:
        stop()  # type: ignore[operator]
