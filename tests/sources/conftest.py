from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sources.git_http_server import GitHttpServer
from tests.sources.ssh_server import SshServer, start_sshd
from tests.sources.upstream import PROJECT_FILES, Upstream


@pytest.fixture
def upstream(tmp_path: Path) -> Upstream:
    """A bare repository holding a tiny dbt project (and a second one in analytics/other), branch main."""
    repo = Upstream(tmp_path / "remote")
    repo.commit(PROJECT_FILES, "initial project")
    return repo


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def http_server(upstream: Upstream) -> Iterator[GitHttpServer]:
    """Smart HTTP (git http-backend) over the upstream's folder, no auth."""
    server = GitHttpServer(upstream.bare.parent)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def ssh_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    """A real sshd on 127.0.0.1 with key authentication (skipped, with the reason, if sshd is missing)."""
    try:
        server = start_sshd(tmp_path_factory.mktemp("sshd"))
    except RuntimeError as exc:
        pytest.skip(f"no ssh server for the ssh tests: {exc}")
    yield server
    server.stop()
