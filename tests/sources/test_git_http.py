"""Git packages over smart HTTP (git http-backend on 127.0.0.1): tokens, updates, locks, kills, staleness."""

from __future__ import annotations

import base64
import logging
import multiprocessing
import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dbt_kickoff.errors import ConfigurationError, KickoffError
from dbt_kickoff.sources import open_source
from dbt_kickoff.sources.git import RepositoryUnavailable
from tests.sources.git_http_server import GitHttpServer
from tests.sources.upstream import Upstream

TOKEN = "tok-9f8e7d6c5b4a-SECRET"


@pytest.fixture
def private_server(upstream: Upstream) -> Iterator[GitHttpServer]:
    server = GitHttpServer(upstream.bare.parent, token=TOKEN)
    yield server
    server.stop()


def _secret_forms() -> list[str]:
    return [TOKEN, base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()]


def _assert_no_secret_in(error: BaseException, text: str) -> None:
    chain: BaseException | None = error
    while chain is not None:
        text += str(chain) + repr(chain)
        chain = chain.__cause__ or chain.__context__
    for secret in _secret_forms():
        assert secret not in text


def _assert_no_secret_on_disk(*roots: Path) -> None:
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                assert not any(s.encode() in data for s in _secret_forms()), path


def test_token_grants_access_and_is_never_stored(
    upstream: Upstream, private_server: GitHttpServer, cache_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        resolved = open_source(private_server.url(upstream.bare), token=TOKEN, cache_dir=cache_dir).resolve()
    assert resolved.commit_sha == upstream.head()
    assert TOKEN not in caplog.text and TOKEN not in resolved.location
    _assert_no_secret_on_disk(cache_dir)


def test_token_inside_the_url_is_used_and_redacted(
    upstream: Upstream, private_server: GitHttpServer, cache_dir: Path
) -> None:
    source = open_source(private_server.url(upstream.bare, "deploy", TOKEN), cache_dir=cache_dir)
    resolved = source.resolve()
    assert resolved.commit_sha == upstream.head()
    assert TOKEN not in resolved.location and TOKEN not in repr(source)
    _assert_no_secret_on_disk(cache_dir)


def test_wrong_token_fails_clearly_without_showing_it(
    upstream: Upstream, private_server: GitHttpServer, cache_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "wrong-" + TOKEN
    with caplog.at_level(logging.DEBUG), pytest.raises(ConfigurationError, match="check the token") as caught:
        open_source(private_server.url(upstream.bare), token=wrong, cache_dir=cache_dir).resolve()
    _assert_no_secret_in(caught.value, caplog.text)
    assert wrong not in str(caught.value) and wrong not in caplog.text
    _assert_no_secret_on_disk(cache_dir)
    assert list((cache_dir / ".tmp").iterdir()) == []


def test_private_repository_without_token_does_not_prompt(
    upstream: Upstream, private_server: GitHttpServer, cache_dir: Path
) -> None:
    with pytest.raises(
        ConfigurationError, match=r"is private \(or does not exist\): pass package_repository_token"
    ):
        open_source(private_server.url(upstream.bare), cache_dir=cache_dir).resolve()


def test_unknown_repository_over_http(
    http_server: GitHttpServer, upstream: Upstream, cache_dir: Path
) -> None:
    with pytest.raises(KickoffError, match="does not exist or is not readable"):
        open_source(http_server.url(upstream.bare.with_name("nope.git")), cache_dir=cache_dir).resolve()


def test_ensure_newest_over_http_fetches_once(
    upstream: Upstream, http_server: GitHttpServer, cache_dir: Path
) -> None:
    source = open_source(http_server.url(upstream.bare), ref="main", cache_dir=cache_dir)
    first = source.resolve()
    assert source.resolve() == first
    assert http_server.fetch_starts == 1  # resolve() of a present checkout stays offline
    pushed = upstream.commit({"models/pushed.sql": "select 'pushed'"}, "pushed during the test")
    newest = source.ensure_newest()
    assert newest.commit_sha == pushed
    assert (newest.project_dir / "models" / "pushed.sql").is_file()
    assert http_server.fetch_starts == 2


def test_network_failure_keeps_the_last_checkout_only_when_allowed(
    upstream: Upstream, http_server: GitHttpServer, cache_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = http_server.url(upstream.bare)
    first = open_source(url, cache_dir=cache_dir).resolve()
    http_server.stop()
    with pytest.raises(RepositoryUnavailable, match=r"could not reach .*allow_stale_package=True"):
        open_source(url, cache_dir=cache_dir).ensure_newest()
    with caplog.at_level(logging.WARNING, logger="dbt_kickoff"):
        stale = open_source(url, cache_dir=cache_dir, allow_stale=True).ensure_newest()
    assert stale == first and first.commit_sha is not None
    assert "may be stale" in caplog.text and first.commit_sha[:12] in caplog.text


def _resolve_in_child(
    url: str,
    cache_dir: str,
    start: multiprocessing.synchronize.Event,
    results: multiprocessing.Queue[tuple[str | None, str]],
) -> None:
    start.wait()
    resolved = open_source(url, cache_dir=cache_dir).resolve()
    results.put((resolved.commit_sha, str(resolved.project_dir)))


def test_two_processes_resolving_at_once_share_one_clone(
    upstream: Upstream, http_server: GitHttpServer, cache_dir: Path
) -> None:
    http_server.pack_delay = 0.5  # keep the first clone busy while the second process arrives
    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    url = http_server.url(upstream.bare)
    children = [
        context.Process(target=_resolve_in_child, args=(url, str(cache_dir), start, results))
        for _ in range(2)
    ]
    for child in children:
        child.start()
    start.set()
    outcomes = [results.get(timeout=60) for _ in children]
    for child in children:
        child.join(timeout=30)
        assert child.exitcode == 0
    assert outcomes[0] == outcomes[1] == (upstream.head(), outcomes[0][1])
    assert http_server.fetch_starts == 1  # the second process found the finished clone


def _resolve_in_own_group(url: str, cache_dir: str) -> None:
    os.setsid()  # so the test can kill this process together with its git children
    open_source(url, cache_dir=cache_dir).resolve()


def test_clone_killed_midway_is_cleaned_up_and_redone(
    upstream: Upstream, http_server: GitHttpServer, cache_dir: Path
) -> None:
    http_server.pack_delay = 30
    url = http_server.url(upstream.bare)
    child = multiprocessing.get_context("spawn").Process(
        target=_resolve_in_own_group, args=(url, str(cache_dir))
    )
    child.start()
    deadline = time.monotonic() + 30
    while http_server.pack_requests == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert http_server.pack_requests > 0, "the child never started fetching"
    assert len(list((cache_dir / ".tmp").iterdir())) == 1  # a clone in progress
    assert child.pid is not None
    os.killpg(child.pid, signal.SIGKILL)
    child.join(timeout=10)
    http_server.pack_delay = 0
    resolved = open_source(url, cache_dir=cache_dir).resolve()
    assert resolved.commit_sha == upstream.head()
    assert list((cache_dir / ".tmp").iterdir()) == []


def test_secrets_never_reach_git_argv(
    upstream: Upstream,
    private_server: GitHttpServer,
    cache_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A ``git`` shim first on PATH records every command line the library runs, then runs the real git."""
    real_git = shutil.which("git")
    assert real_git is not None
    shim_dir, argv_log = tmp_path / "shim", tmp_path / "argv.log"
    shim_dir.mkdir()
    shim = shim_dir / "git"
    shim.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{argv_log}"\nexec "{real_git}" "$@"\n')
    shim.chmod(0o755)
    monkeypatch.setenv("PATH", f"{shim_dir}{os.pathsep}{os.environ['PATH']}")
    source = open_source(private_server.url(upstream.bare), token=TOKEN, cache_dir=cache_dir)
    source.resolve()
    upstream.commit({"models/argv.sql": "select 1"}, "argv")
    source.ensure_newest()
    recorded = argv_log.read_text()
    assert "fetch" in recorded and "clone" not in recorded.split()
    for secret in _secret_forms():
        assert secret not in recorded


def test_a_hanging_server_times_out(upstream: Upstream, http_server: GitHttpServer, cache_dir: Path) -> None:
    http_server.pack_delay = 5
    source = open_source(http_server.url(upstream.bare), cache_dir=cache_dir, timeout=0.5)
    with pytest.raises(RepositoryUnavailable, match=r"timed out after 0\.5 s"):
        source.resolve()
    assert list((cache_dir / ".tmp").iterdir()) == []
