"""Split a destination URL into parts, and redact URLs for messages (never show a password or token)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.profiles.secrets import is_secret_key

MASK = "***"
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")


def url_scheme(url: str) -> str | None:
    """The lower-cased scheme of ``url``, or None when it has none."""
    match = _SCHEME.match(url.strip())
    return match.group(1).lower() if match else None


@dataclass(frozen=True)
class UrlParts:
    """A parsed destination URL; ``path`` is the raw path without its first ``/``, percent-decoded."""

    scheme: str
    username: str | None
    password: str | None = field(repr=False)
    host: str | None
    port: int | None
    path: str
    query: dict[str, str]
    redacted: str

    @property
    def path_segments(self) -> list[str]:
        return [s for s in self.path.split("/") if s]


def _redact_parts(scheme: str, netloc: str, path: str, query: str) -> str:
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user, has_password, _ = userinfo.partition(":")
        # motherduck://TOKEN@db puts a token where a user name goes
        if has_password or scheme in ("md", "motherduck"):
            userinfo = f"{user}:{MASK}" if has_password and user else MASK
        netloc = f"{userinfo}@{hostport}"
    pairs = parse_qsl(query, keep_blank_values=True)
    shown = "&".join(f"{k}={MASK if is_secret_key(k) else v}" for k, v in pairs)
    slashes = "//" if netloc or path.startswith("/") else ""
    return f"{scheme}:{slashes}{netloc}{path}" + (f"?{shown}" if shown else "")


def redact_url(url: str) -> str:
    """``url`` with passwords and secret query values replaced by ``***``; safe to log or raise."""
    scheme = url_scheme(url) or ""
    if not scheme:
        return url if "@" not in url and "?" not in url else "<destination hidden: it may hold a secret>"
    try:
        parts = urlsplit(url.strip())
        return _redact_parts(parts.scheme.lower(), parts.netloc, parts.path, parts.query)
    except ValueError:
        return f"{scheme}://<unparseable URL hidden>"


def _host(netloc: str, hostname: str | None) -> str | None:
    """The host as written (urlsplit lower-cases it; MotherDuck database names keep their case)."""
    raw = netloc.rpartition("@")[2]
    if not hostname or raw.startswith("["):
        return hostname
    return unquote(raw.split(":", 1)[0]) or None


def parse_url(url: str) -> UrlParts:
    """Split ``url``; a malformed URL or port raises :class:`ConfigurationError` without echoing secrets."""
    redacted = redact_url(url)
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        reason = "the port must be a number in 1..65535" if "port" in str(exc).lower() else "it is malformed"
        raise ConfigurationError(
            f"cannot read destination URL {redacted}: {reason}. Percent-encode special characters in the "
            f"user name and password (e.g. '@' as %40, '/' as %2F)."
        ) from None
    if port == 0:
        raise ConfigurationError(f"destination URL {redacted}: the port must be a number in 1..65535")
    query = {k: v for k, v in parse_qsl(parts.query, keep_blank_values=True)}
    return UrlParts(
        scheme=parts.scheme.lower(),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        host=_host(parts.netloc, parts.hostname),
        port=port,
        path=unquote(parts.path[1:] if parts.path.startswith("/") else parts.path),
        query=query,
        redacted=redacted,
    )
