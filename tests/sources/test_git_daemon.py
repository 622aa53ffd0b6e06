"""Git packages over the git:// protocol from a real ``git daemon`` on 127.0.0.1."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dbt_kickoff.errors import PrerequisitesException
from dbt_kickoff.sources import open_source
from dbt_kickoff.sources.git import RepositoryUnavailable
from tests.sources.upstream import GIT_TEST_ENV, Upstream


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def git_daemon(upstream: Upstream) -> Iterator[str]:
    """``git://127.0.0.1:PORT/`` serving the upstream's folder."""
    port = _free_port()
    root = upstream.bare.parent
    daemon = subprocess.Popen(
        [
            "git",
            "daemon",
            "--reuseaddr",
            "--export-all",
            "--listen=127.0.0.1",
            f"--port={port}",
            f"--base-path={root}",
            str(root),
        ],
        env=GIT_TEST_ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.05)
    yield f"git://127.0.0.1:{port}"
    daemon.terminate()
    daemon.wait(timeout=10)


def test_clone_and_update_over_git_protocol(upstream: Upstream, git_daemon: str, cache_dir: Path) -> None:
    source = open_source(f"{git_daemon}/{upstream.bare.name}", ref="main", cache_dir=cache_dir)
    assert source.resolve().commit_sha == upstream.head()
    pushed = upstream.commit({"models/daemon.sql": "select 1"}, "over git://")
    assert source.ensure_newest().commit_sha == pushed


def test_repository_not_exported(git_daemon: str, cache_dir: Path) -> None:
    with pytest.raises(PrerequisitesException, match="does not exist or is not readable"):
        open_source(f"{git_daemon}/missing.git", cache_dir=cache_dir).resolve()


def test_nothing_listening(cache_dir: Path) -> None:
    with pytest.raises(RepositoryUnavailable, match="could not reach"):
        open_source(f"git://127.0.0.1:{_free_port()}/repo.git", cache_dir=cache_dir).resolve()
