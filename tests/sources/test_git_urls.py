"""Parsing, recognising and redacting git locations."""

from __future__ import annotations

import pytest

from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.sources.git_urls import Redactor, looks_like_git_url, parse_git_url, redact_url


@pytest.mark.parametrize(
    ("location", "transport", "url"),
    [
        ("https://github.com/org/repo.git", "https", "https://github.com/org/repo.git"),
        ("git@github.com:org/repo.git", "ssh", "git@github.com:org/repo.git"),
        ("ssh://git@host.example:2222/org/repo.git", "ssh", "ssh://git@host.example:2222/org/repo.git"),
        ("git+ssh://git@host.example/org/repo.git", "ssh", "ssh://git@host.example/org/repo.git"),
        ("git+https://host.example/org/repo", "https", "https://host.example/org/repo"),
        ("file:///srv/repos/pkg.git", "file", "file:///srv/repos/pkg.git"),
        ("git://127.0.0.1:9418/pkg.git", "git", "git://127.0.0.1:9418/pkg.git"),
    ],
)
def test_supported_locations_parse(location: str, transport: str, url: str) -> None:
    parsed = parse_git_url(location)
    assert (parsed.transport, parsed.url) == (transport, url)
    assert looks_like_git_url(location)


def test_credentials_in_https_url_move_out_of_the_url() -> None:
    parsed = parse_git_url("https://deploy:s3cr3t-t0ken@git.example.com/org/repo.git")
    assert parsed.url == "https://git.example.com/org/repo.git"
    assert (parsed.username, parsed.password) == ("deploy", "s3cr3t-t0ken")
    assert "s3cr3t" not in parsed.display
    assert "s3cr3t" not in repr(parsed.url)


def test_subdirectory_suffix_and_parameter() -> None:
    assert parse_git_url("https://h.example/r.git#subdirectory=a/b").subdirectory == "a/b"
    assert parse_git_url("https://h.example/r.git", subdirectory="./a/b/").subdirectory == "a/b"
    assert parse_git_url("https://h.example/r.git#subdirectory=a/b", subdirectory="a/b").subdirectory == "a/b"
    assert (
        parse_git_url("https://h.example/r.git#subdirectory=a").display
        == "https://h.example/r.git#subdirectory=a"
    )


@pytest.mark.parametrize(
    ("location", "subdirectory", "message"),
    [
        ("ftp://h.example/r.git", None, "unsupported scheme 'ftp'"),
        ("s3://bucket/r.git", None, "unsupported scheme 's3'"),
        ("https://h.example/r.git#egg=x", None, "#subdirectory=path"),
        ("https://h.example/r.git#subdirectory=a", "b", "give only one of them"),
        ("https://h.example/r.git", "../outside", "relative path inside the repository"),
        ("https://h.example/r.git", "/abs", "relative path inside the repository"),
        ("ssh://u:pw-secret@h.example/r.git", None, "use an ssh key"),
        ("-oProxyCommand=touch_pwned:repo.git", None, "starts with '-'"),
    ],
)
def test_bad_locations_raise_configuration_errors(
    location: str, subdirectory: str | None, message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message) as caught:
        parse_git_url(location, subdirectory=subdirectory)
    assert "pw-secret" not in str(caught.value)


def test_local_paths_are_not_git_urls() -> None:
    assert not looks_like_git_url("/home/me/project")
    assert not looks_like_git_url("./project")
    assert not looks_like_git_url("C:\\work\\project")


def test_redaction_masks_passwords_and_lone_https_users_but_keeps_ssh_users() -> None:
    text = (
        "fatal: https://bob:hunter22@h.example/r.git and https://ghp_tok3n@h.example/x and ssh://git@h/r.git"
    )
    redacted = redact_url(text)
    assert "hunter22" not in redacted and "ghp_tok3n" not in redacted
    assert "https://bob:***@h.example/r.git" in redacted
    assert "ssh://git@h/r.git" in redacted
    assert Redactor(["hunter22"])("token hunter22 leaked") == "token *** leaked"
    assert "hunter22" not in repr(Redactor(["hunter22"]))
