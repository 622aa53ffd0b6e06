"""Git packages over ssh (a real sshd on 127.0.0.1): key auth, host key policies, wrong keys, no leftovers."""

from __future__ import annotations

import logging
import subprocess
import tempfile
from pathlib import Path

import pytest

from dbt_kickoff.errors import ConfigurationError, PrerequisitesException
from dbt_kickoff.sources import open_source
from tests.sources.ssh_server import SshServer
from tests.sources.upstream import Upstream


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Route the library's temp folders (the key file lives there briefly) to a folder we can inspect."""
    folder = tmp_path / "private-tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def _key_body(key: str) -> str:
    return "".join(key.strip().splitlines()[1:-1])


def test_clone_and_update_with_an_ssh_key(
    upstream: Upstream,
    ssh_server: SshServer,
    cache_dir: Path,
    private_tmp: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    source = open_source(ssh_server.url(upstream.bare), ssh_key=ssh_server.client_key, cache_dir=cache_dir)
    with caplog.at_level(logging.DEBUG):
        first = source.resolve()
    assert first.commit_sha == upstream.head()
    assert list(private_tmp.iterdir()) == []  # the key file and its folder are gone
    host_key = ssh_server.known_hosts.split()[2]
    assert host_key in (cache_dir / "known_hosts").read_text()  # accept-new remembered the host in the cache

    pushed = upstream.commit({"models/over_ssh.sql": "select 'ssh'"}, "pushed")
    assert source.ensure_newest().commit_sha == pushed
    assert list(private_tmp.iterdir()) == []
    assert _key_body(ssh_server.client_key) not in caplog.text
    assert "PRIVATE KEY" not in repr(source) and "PRIVATE KEY" not in caplog.text


def test_escaped_newlines_in_the_key_are_accepted(
    upstream: Upstream, ssh_server: SshServer, cache_dir: Path
) -> None:
    flattened = ssh_server.client_key.strip().replace("\n", "\\n")  # as often pasted into env vars / TOML
    resolved = open_source(ssh_server.url(upstream.bare), ssh_key=flattened, cache_dir=cache_dir).resolve()
    assert resolved.commit_sha == upstream.head()


def test_wrong_key_is_refused_with_a_clear_error(
    upstream: Upstream,
    ssh_server: SshServer,
    cache_dir: Path,
    private_tmp: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    source = open_source(ssh_server.url(upstream.bare), ssh_key=ssh_server.other_key, cache_dir=cache_dir)
    with (
        caplog.at_level(logging.DEBUG),
        pytest.raises(ConfigurationError, match="check package_repository_ssh_key") as caught,
    ):
        source.resolve()
    assert _key_body(ssh_server.other_key) not in str(caught.value) + repr(caught.value.__cause__)
    assert _key_body(ssh_server.other_key) not in caplog.text
    assert list(private_tmp.iterdir()) == []
    assert list((cache_dir / ".tmp").iterdir()) == []


def test_strict_host_key_checking_with_known_hosts(
    upstream: Upstream, ssh_server: SshServer, cache_dir: Path, tmp_path: Path
) -> None:
    url = ssh_server.url(upstream.bare)
    trusted = open_source(
        url,
        ssh_key=ssh_server.client_key,
        cache_dir=cache_dir,
        host_key_policy="strict",
        known_hosts=ssh_server.known_hosts,
    ).resolve()
    assert trusted.commit_sha == upstream.head()

    unrelated = tmp_path / "known_hosts"
    unrelated.write_text(
        "[127.0.0.1]:1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDv6v3wXwq1m0f1qK8m1Z4nHh8f4bXl6Xv5n1mYp0g3o\n"
    )
    with pytest.raises(ConfigurationError, match=r"host key of 127\.0\.0\.1 is not trusted"):
        open_source(
            url,
            ref="main",
            ssh_key=ssh_server.client_key,
            cache_dir=cache_dir,
            host_key_policy="strict",
            known_hosts=unrelated,
        ).resolve()


def test_repository_missing_on_the_ssh_server(
    upstream: Upstream, ssh_server: SshServer, cache_dir: Path
) -> None:
    url = ssh_server.url(upstream.bare.with_name("absent.git"))
    with pytest.raises(PrerequisitesException, match="does not exist or is not readable"):
        open_source(url, ssh_key=ssh_server.client_key, cache_dir=cache_dir).resolve()


def test_key_folder_left_by_a_killed_process_is_removed(
    upstream: Upstream, ssh_server: SshServer, cache_dir: Path, private_tmp: Path
) -> None:
    finished = subprocess.Popen(["true"])
    finished.wait()
    orphan = private_tmp / f"dbt-kickoff-ssh-{finished.pid}-k1lled"
    orphan.mkdir(mode=0o700)
    (orphan / "key").write_text("left behind by SIGKILL")
    open_source(ssh_server.url(upstream.bare), ssh_key=ssh_server.client_key, cache_dir=cache_dir).resolve()
    assert list(private_tmp.iterdir()) == []
