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


def _mask_query(query: str) -> str:
    pairs = parse_qsl(query, keep_blank_values=True)
    return "&".join(f"{k}={MASK if is_secret_key(k) else v}" for k, v in pairs)


def redact_url(url: str) -> str:
    """``url`` with passwords and secret query values replaced by ``***``; safe to log or raise.

    Works on the raw text, so a password with unencoded ``/``, ``#``, ``?`` or ``@`` is still masked whole
    (everything between the user name and the last ``@``).
    """
    text = url.strip()
    scheme = url_scheme(text)
    if not scheme:
        return text if "@" not in text and "?" not in text else "<destination hidden: it may hold a secret>"
    head, slashes, rest = text.partition("://")
    if not slashes:
        head, rest = text[: len(scheme) + 1], text[len(scheme) + 1 :]
        if "@" in rest:  # e.g. "user:password@host/db" without "scheme://"
            return f"{head}{MASK}"
    if slashes and "@" in rest:
        userinfo, _, after = rest.rpartition("@")
        user, has_password, _ = userinfo.partition(":")
        # motherduck://TOKEN@db puts a token where a user name goes
        if has_password or scheme in ("md", "motherduck"):
            userinfo = f"{user}:{MASK}" if has_password and user else MASK
        rest = f"{userinfo}@{after}"
    base, question, query = rest.partition("?")
    return f"{head}{slashes}{base}" + (f"?{_mask_query(query)}" if question else "")


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
