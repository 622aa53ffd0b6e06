"""Recognise, parse and redact git repository locations.

Only an allow-list of transports is ever handed to git: ``file``, ``https``, ``http`` (with a warning: nothing
is encrypted), ``ssh``, ``git`` and scp-like ``user@host:path``. Everything else — other schemes, git's
remote-helper forms (``<helper>::<address>``, e.g. ``ext::``/``fd::``) and hosts or users starting with ``-``
(option injection) — raises :class:`ConfigurationError` before git is started.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.redaction import MASK, Redactor
from dbt_kickoff.redaction import redact_text as redact_url

__all__ = ["MASK", "SUPPORTED_SCHEMES", "GitUrl", "Redactor", "looks_like_git_url", "parse_git_url", "redact_url"]
SUPPORTED_SCHEMES = ("https", "http", "ssh", "git", "file")
_SCHEME_ALIASES = {
    "git+https": "https",
    "git+http": "http",
    "git+ssh": "ssh",
    "ssh+git": "ssh",
    "git+file": "file",
}
_SCHEME = re.compile(r"^(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*)://")
# git's remote-helper syntax <transport>::<address> (git runs git-remote-<transport>, e.g. ext:: runs a command)
_REMOTE_HELPER = re.compile(r"^(?P<helper>[A-Za-z0-9][A-Za-z0-9+._-]*)::")
_ALLOWED = "https://host/org/repo.git, git@host:org/repo.git, ssh://git@host/org/repo.git, git://host/repo.git or file:///path/to/repo"
logger = logging.getLogger("dbt_kickoff.sources")
# git's scp-like syntax: [user@]host:path, no slash before the first colon, host longer than a drive letter
_SCP_LIKE = re.compile(r"^(?:(?P<user>[^@/\s:]+)@)?(?P<host>[^@/\s:]{2,}|\[[^\]]+\]):(?!//)(?P<path>.+)$")


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
    """True for ``scheme://...``, scp-like ``user@host:path`` (git's own rule for ssh) and remote-helper
    ``helper::address`` strings (recognised so that they are refused, never taken for a folder)."""
    return bool(_SCHEME.match(location) or _SCP_LIKE.match(location) or _REMOTE_HELPER.match(location))


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
    helper = _REMOTE_HELPER.match(base)
    if helper is not None:
        raise ConfigurationError(
            f"package_location {redact_url(location)!r} uses git's remote-helper form {helper['helper'] + '::'!r}, "
            f"which is not allowed (it can run commands); use {_ALLOWED}"
        )
    match = _SCHEME.match(base)
    if match is None:
        scp = _SCP_LIKE.match(base)
        if scp is None:
            raise ConfigurationError(f"{redact_url(location)} is not a git URL; use {_ALLOWED}")
        _refuse_option_like(scp["user"], scp["host"], location)
        return GitUrl(url=base, transport="ssh", host=scp["host"], username=scp["user"], subdirectory=subdir)

    scheme = match["scheme"].lower()
    transport = _SCHEME_ALIASES.get(scheme, scheme)
    if transport not in SUPPORTED_SCHEMES:
        raise ConfigurationError(
            f"{redact_url(location)} uses the unsupported scheme {scheme!r}; git packages can be cloned over "
            f"{', '.join(SUPPORTED_SCHEMES)} (or scp-like git@host:org/repo.git)"
        )
    parts = urlsplit(transport + base[len(scheme) :])
    _refuse_option_like(parts.username, parts.hostname, location)
    if transport == "http":
        logger.warning("%s uses http: the package (and any token) travel unencrypted; prefer https or ssh",
                       redact_url(location))
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


def _refuse_option_like(user: str | None, host: str | None, location: str) -> None:
    """A user or host starting with '-' would reach ssh as an option (``-oProxyCommand=...``)."""
    for part, value in (("user", user), ("host", host)):
        if value and unquote(value).startswith("-"):
            raise ConfigurationError(
                f"{redact_url(location)} is not a git URL: its {part} starts with '-'; use {_ALLOWED}"
            )


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
