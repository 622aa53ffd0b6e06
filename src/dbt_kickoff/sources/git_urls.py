"""Recognise, parse and redact git repository locations (https, ssh, scp-like, git, file)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from dbt_kickoff.errors import ConfigurationError

MASK = "***"
SUPPORTED_SCHEMES = ("https", "http", "ssh", "git", "file")
_SCHEME_ALIASES = {
    "git+https": "https",
    "git+http": "http",
    "git+ssh": "ssh",
    "ssh+git": "ssh",
    "git+file": "file",
}
_SCHEME = re.compile(r"^(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*)://")
# git's scp-like syntax: [user@]host:path, no slash before the first colon, host longer than a drive letter
_SCP_LIKE = re.compile(r"^(?:(?P<user>[^@/\s:]+)@)?(?P<host>[^@/\s:]{2,}|\[[^\]]+\]):(?!//)(?P<path>.+)$")
_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^@/\s]*)@")


@dataclass(frozen=True)
class GitUrl:
    """A git remote split into what git needs and what may be logged.

    ``url`` never holds a password or token: one found in the location moves to ``password``.
    """

    url: str
    transport: str
    """One of :data:`SUPPORTED_SCHEMES` (scp-like locations are ``ssh``)."""
    host: str | None
    username: str | None = None
    password: str | None = None
    subdirectory: str | None = None

    @property
    def display(self) -> str:
        """The location as it may appear in logs and messages."""
        suffix = f"#subdirectory={self.subdirectory}" if self.subdirectory else ""
        return redact_url(self.url) + suffix

    @property
    def cache_key(self) -> str:
        """The URL normalised for cache lookups (scheme and host lower-cased, no trailing slash)."""
        if self.transport == "ssh" and "://" not in self.url:
            return self.url.rstrip("/")
        parts = urlsplit(self.url)
        return urlunsplit(
            (parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/"), parts.query, "")
        )


def looks_like_git_url(location: str) -> bool:
    """True for ``scheme://...`` and scp-like ``user@host:path`` strings (git's own rule for ssh)."""
    return bool(_SCHEME.match(location) or _SCP_LIKE.match(location))


def parse_git_url(location: str, *, subdirectory: str | None = None) -> GitUrl:
    """Split ``location`` into a :class:`GitUrl`; unsupported schemes raise :class:`ConfigurationError`.

    A ``#subdirectory=path`` suffix selects a folder in the repository, like ``subdirectory``.
    """
    location = location.strip()
    base, _, fragment = location.partition("#")
    suffix_dir = _subdirectory_from_fragment(fragment, location) if fragment else None
    if subdirectory and suffix_dir and _clean_subdirectory(subdirectory) != _clean_subdirectory(suffix_dir):
        raise ConfigurationError(
            f"{redact_url(location)} names subdirectory {suffix_dir!r} but subdirectory={subdirectory!r} "
            "was passed too; give only one of them"
        )
    subdir = _clean_subdirectory(subdirectory or suffix_dir)

    if base.startswith("-"):
        raise ConfigurationError(f"{redact_url(location)} is not a git URL (it starts with '-')")
    match = _SCHEME.match(base)
    if match is None:
        scp = _SCP_LIKE.match(base)
        if scp is None:
            raise ConfigurationError(
                f"{redact_url(location)} is not a git URL; use https://host/org/repo.git, "
                "git@host:org/repo.git, ssh://git@host/org/repo.git or file:///path/to/repo"
            )
        return GitUrl(url=base, transport="ssh", host=scp["host"], username=scp["user"], subdirectory=subdir)

    scheme = match["scheme"].lower()
    transport = _SCHEME_ALIASES.get(scheme, scheme)
    if transport not in SUPPORTED_SCHEMES:
        raise ConfigurationError(
            f"{redact_url(location)} uses the unsupported scheme {scheme!r}; git packages can be cloned over "
            f"{', '.join(SUPPORTED_SCHEMES)} (or scp-like git@host:org/repo.git)"
        )
    parts = urlsplit(transport + base[len(scheme) :])
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    if password and transport not in ("https", "http"):
        raise ConfigurationError(
            f"{redact_url(location)} holds a password; over {transport} use an ssh key instead "
            "(package_repository_ssh_key)"
        )
    netloc = parts.hostname or ""
    if ":" in netloc:
        netloc = f"[{netloc}]"
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    if username and transport == "ssh":
        netloc = f"{quote(username, safe='')}@{netloc}"
    if transport == "file" and not parts.path:
        raise ConfigurationError(f"{location} has no path; write file:///absolute/path/to/repo")
    url = urlunsplit((transport, netloc, parts.path, parts.query, ""))
    return GitUrl(
        url=url,
        transport=transport,
        host=parts.hostname,
        username=username,
        password=password,
        subdirectory=subdir,
    )


def redact_url(text: str) -> str:
    """Mask the password (or token) of every ``scheme://user:password@`` in ``text``; a lone user stays."""

    def _mask(match: re.Match[str]) -> str:
        user, sep, _password = match["userinfo"].partition(":")
        if not sep:
            # a token is often given as the user part alone (https://TOKEN@github.com/...)
            return (
                f"{match['scheme']}{user}@"
                if match["scheme"].startswith("ssh")
                else f"{match['scheme']}{MASK}@"
            )
        return f"{match['scheme']}{user}:{MASK}@"

    return _URL_USERINFO.sub(_mask, text)


class Redactor:
    """Masks known secret values and URL credentials in any text headed for a log line or an exception."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return redact_url(text)

    def __repr__(self) -> str:
        return f"Redactor({len(self._secrets)} secret(s))"


def _subdirectory_from_fragment(fragment: str, location: str) -> str:
    key, sep, value = fragment.partition("=")
    if key != "subdirectory" or not sep or not value:
        raise ConfigurationError(
            f"{redact_url(location)}: the only URL suffix understood is #subdirectory=path/inside/repo"
        )
    return unquote(value)


def _clean_subdirectory(subdirectory: str | Path | None) -> str | None:
    """A relative POSIX path inside the repository, or None for its root."""
    if subdirectory is None:
        return None
    text = str(subdirectory).replace("\\", "/").strip()
    path = PurePosixPath(text)
    if path.is_absolute() or ".." in path.parts:
        raise ConfigurationError(
            f"subdirectory {text!r} must be a relative path inside the repository (no leading '/', no '..')"
        )
    cleaned = str(path)
    return None if cleaned in ("", ".") else cleaned
