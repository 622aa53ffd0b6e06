from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from tests.postgres_server import PostgresServer, start_postgres


def pytest_configure(config: pytest.Config) -> None:
    """Tests press Ctrl-C in child processes (SIGINT): a suite started in the background by a non-interactive
    shell inherits SIGINT ignored, and so would every child. Restore Python's handler so children start with
    SIGINT at its default."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for the whole test session (user kickoff, database postgres)."""
    server, stop = start_postgres()
    try:
        yield server
    finally:
        stop()  # type: ignore[operator]
