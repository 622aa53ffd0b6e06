"""Split a destination URL into parts, and redact URLs for messages (never show a password or token)."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.redaction import MASK, redact_url, url_scheme

__all__ = ["MASK", "UrlParts", "parse_url", "redact_url", "url_scheme"]

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


def _host(netloc: str, hostname: str | None) -> str | None:
    """The host as written (urlsplit lower-cases it; MotherDuck database names keep their case)."""
    raw = netloc.rpartition("@")[2]
    if not hostname or raw.startswith("["):
        return hostname
    return unquote(raw.split(":", 1)[0]) or None


def parse_url(url: str) -> UrlParts:
    """Split ``url``; a malformed URL or port raises :class:`ConfigurationError` without echoing secrets."""
    redacted = redact_url(url)
    hint = (
        "percent-encode special characters in the user name and password ('/' as %2F, '#' as %23, "
        "'?' as %3F, '@' as %40)"
    )
    try:
        parts = urlsplit(url.strip())
        stray_at = "@" in url.strip().partition("://")[2] and "@" not in parts.netloc
        if stray_at or "@" in parts.path or parts.fragment:  # a password cut short by '/', '?' or '#'
            raise ConfigurationError(f"cannot read destination URL {redacted}: {hint}")
        port = parts.port
    except ValueError as exc:
        reason = "the port must be a number in 1..65535" if "port" in str(exc).lower() else "it is malformed"
        raise ConfigurationError(f"cannot read destination URL {redacted}: {reason}; {hint}") from None
    if port == 0:
        raise ConfigurationError(f"destination URL {redacted}: the port must be a number in 1..65535")
    return UrlParts(
        scheme=parts.scheme.lower(),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        host=_host(parts.netloc, parts.hostname),
        port=port,
        path=unquote(parts.path[1:] if parts.path.startswith("/") else parts.path),
        query=dict(parse_qsl(parts.query, keep_blank_values=True)),
        redacted=redacted,
    )
