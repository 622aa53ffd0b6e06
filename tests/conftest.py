from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.postgres_server import PostgresServer, start_postgres


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for the whole test session (user kickoff, database postgres)."""
    server, stop = start_postgres()
    try:
        yield server
    finally:
        stop()  # type: ignore[operator]
