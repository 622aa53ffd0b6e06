"""Git locations: an allow-list of transports; anything else is refused before git is started."""

from __future__ import annotations

import logging

import pytest

from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.sources import open_source
from dbt_kickoff.sources.git_urls import parse_git_url
from tests.hardening.conftest import Guard

ALLOWED = [
    ("https://github.com/org/repo.git", "https"),
    ("http://git.internal/org/repo.git", "http"),
    ("ssh://git@host.example/org/repo.git", "ssh"),
    ("git+ssh://git@host.example/org/repo.git", "ssh"),
    ("git@github.com:org/repo.git", "ssh"),
    ("git://127.0.0.1/repo.git", "git"),
    ("file:///srv/repos/pkg.git", "file"),
]

REFUSED = [
    ("ext::sh -c touch% /tmp/pwned", "remote-helper"),
    ("ext::ssh -oProxyCommand=x host", "remote-helper"),
    ("fd::17", "remote-helper"),
    ("fd::0,1", "remote-helper"),
    ("persistent-https::https://h/r.git", "remote-helper"),
    ("transport::address", "remote-helper"),
    ("ftp://h.example/r.git", "unsupported scheme"),
    ("ftps://h.example/r.git", "unsupported scheme"),
    ("rsync://h.example/r.git", "unsupported scheme"),
    ("s3://bucket/r.git", "unsupported scheme"),
    ("git+ext://h/r.git", "unsupported scheme"),
    ("ssh://-oProxyCommand=touch%20x/r.git", "host starts with '-'"),
    ("-oProxyCommand=x@host:r.git", "starts with '-'"),
    ("-u@host:repo.git", "starts with '-'"),
]


@pytest.mark.parametrize(("location", "transport"), ALLOWED)
def test_allowed_transports(location: str, transport: str) -> None:
    assert parse_git_url(location).transport == transport


def test_http_is_allowed_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="dbt_kickoff"):
        parse_git_url("http://tok:pw-9@git.internal/org/repo.git")
    assert "unencrypted" in caplog.text and "pw-9" not in caplog.text


@pytest.mark.parametrize(("location", "message"), REFUSED)
def test_other_transports_are_refused_before_git_starts(guard: Guard, location: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        open_source(location, cache_dir=guard.cache)
