"""The one home of secret masking: every text that may reach a log line, an exception, the console or a file.

- :func:`redact_url` masks one URL (destination or git remote): the password (or a token given as the user
  name over http(s) / MotherDuck) and every query value, so a secret placed in any parameter is never shown.
- :func:`redact_text` masks the URLs and ``password=…``-style pairs found anywhere in free text (dbt's logs,
  a database error message, git's output).
- :class:`Redactor` does both and also replaces the known secret values of one run wherever they appear.
- :class:`RedactingFilter` applies a :class:`Redactor` to log records (message, arguments and traceback).
- :func:`redact_exception` gives an exception's message with its chained causes, masked.
- :class:`RedactingStream` wraps a text stream (the CLI's stdout and stderr) so that whatever is written is masked.
- :func:`redact_file` rewrites a file dbt left behind (``dbt.log``, ``run_results.json``) masked, atomically.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TextIO

from dbt_kickoff.atomic import write_atomically

MASK = "***"

# field or parameter names whose values are secrets wherever they appear
SECRET_KEY_PATTERN = re.compile(
    r"(password|passwd|pwd|secret|token|private_key(?!_path)|passphrase|keyfile_json|credentials_json|api_key"
    r"|access_key(?!_id))",
    re.IGNORECASE,
)
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")
_TOKEN_AS_USER_SCHEMES = ("http", "https", "git+https", "git+http", "md", "motherduck")
# a URL inside free text: scheme://userinfo@ (userinfo stops at whitespace or quotes)
_URL_USERINFO = re.compile(r"(?<![a-zA-Z0-9+.-])(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^@/\s'\"<>]*)@")
_URL_QUERY = re.compile(r"(?<![a-zA-Z0-9+.-])(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^\s?'\"<>]*\?)(?P<query>[^\s#'\"<>]*)")
# password=…, "token": "…", api_key: … in free text (DSNs, dicts, YAML). Matches start only where a word starts
# (the look-behinds): trying every position inside long words made masking a large dbt.log quadratic.
_SECRET_PAIR = re.compile(
    r"(?<![\w.-])(?P<key>[\w.-]*?" + SECRET_KEY_PATTERN.pattern + r"[\w.-]*)(?P<sep>['\"]?\s*[=:]\s*['\"]?)"
    r"(?P<value>[^\s'\",;&}]+)",
    re.IGNORECASE,
)


# plain words that every SECRET_KEY_PATTERN match contains (a fast pre-check before any regex)
_SECRET_WORDS = ("password", "passwd", "pwd", "secret", "token", "private_key", "passphrase", "keyfile_json",
                 "credentials_json", "api_key", "access_key")
_WHOLE_TEXT_LIMIT = 64 * 1024


def is_secret_key(key: str) -> bool:
    """True when a field or parameter of this name holds a secret."""
    return bool(SECRET_KEY_PATTERN.search(key))


def url_scheme(url: str) -> str | None:
    """The lower-cased scheme of ``url``, or None when it has none."""
    match = _SCHEME.match(url.strip())
    return match.group(1).lower() if match else None


def _mask_query(query: str) -> str:
    """Every value masked: a secret put by mistake in an ordinary parameter must not be shown either."""
    pairs = [pair.partition("=") for pair in query.split("&") if pair]
    return "&".join(f"{key}={MASK}" if sep else key for key, sep, _ in pairs)


def redact_url(url: str) -> str:
    """``url`` with its password (or token) and every query value replaced by ``***``; safe to log or raise.

    Works on the raw text, so a password with unencoded ``/``, ``#``, ``?`` or ``@`` is still masked whole
    (everything between the user name and the last ``@``). Text that is not a URL but holds ``@`` or ``?`` is
    hidden entirely.
    """
    text = url.strip()
    scheme = url_scheme(text)
    if not scheme:
        return redact_text(text) if "@" not in text and "?" not in text else "<hidden: it may hold a secret>"
    head, slashes, rest = text.partition("://")
    if not slashes:
        head, rest = text[: len(scheme) + 1], text[len(scheme) + 1 :]
        if "@" in rest:  # e.g. "user:password@host/db" without "scheme://"
            return f"{head}{MASK}"
    if slashes and "@" in rest:
        userinfo, _, after = rest.rpartition("@")
        user, has_password, _ = userinfo.partition(":")
        if has_password:
            userinfo = f"{user}:{MASK}" if user else MASK
        elif scheme in _TOKEN_AS_USER_SCHEMES:  # https://TOKEN@github.com, motherduck://TOKEN@db
            userinfo = MASK
        rest = f"{userinfo}@{after}"
    base, question, query = rest.partition("?")
    return f"{head}{slashes}{base}" + (f"?{_mask_query(query)}" if question else "")


def redact_url_credentials(text: str) -> str:
    """Mask URL credentials anywhere in ``text`` (kept for callers of the older name; see :func:`redact_text`)."""
    return redact_text(text)


def redact_text(text: str) -> str:
    """Mask URL passwords/tokens, secret URL parameters and ``password=…`` pairs anywhere in free text."""

    def _userinfo(match: re.Match[str]) -> str:
        scheme = match["scheme"][:-3].lower()
        user, sep, _password = match["userinfo"].partition(":")
        if sep:
            return f"{match['scheme']}{user}:{MASK}@"
        if scheme in _TOKEN_AS_USER_SCHEMES:
            return f"{match['scheme']}{MASK}@"
        return match.group(0)

    def _query(match: re.Match[str]) -> str:
        pairs = [pair.partition("=") for pair in match["query"].split("&")]
        return match["head"] + "&".join(
            f"{k}{sep}{MASK}" if sep and is_secret_key(k) else f"{k}{sep}{v}" for k, sep, v in pairs
        )

    if "://" in text:
        text = _URL_USERINFO.sub(_userinfo, text)
        text = _URL_QUERY.sub(_query, text)
    return _mask_secret_pairs(text)


def _mask_secret_pair(match: re.Match[str]) -> str:
    return match.group(0) if match["value"] == MASK else f"{match['key']}{match['sep']}{MASK}"


def _mentions_secret(text: str) -> bool:
    lowered = text.lower()
    return any(word in lowered for word in _SECRET_WORDS)


def _mask_secret_pairs(text: str) -> str:
    """``password=…`` pairs masked. Python's regex engine takes seconds on a large dbt.log, so only the lines
    that name a secret (with the line after each, where a value may continue) go through it."""
    if not _mentions_secret(text):
        return text
    if len(text) < _WHOLE_TEXT_LIMIT:
        return _SECRET_PAIR.sub(_mask_secret_pair, text)
    lines = text.splitlines(keepends=True)
    masked: list[str] = []
    start = 0
    while start < len(lines):
        if not _mentions_secret(lines[start]):
            masked.append(lines[start])
            start += 1
            continue
        end = start + 1
        while end < len(lines) and _mentions_secret(lines[end]):
            end += 1
        end = min(end + 1, len(lines))
        masked.append(_SECRET_PAIR.sub(_mask_secret_pair, "".join(lines[start:end])))
        start = end
    return "".join(masked)


class Redactor:
    """Replaces the known secret values of one run, and anything :func:`redact_text` finds, with ``***``."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str | None]) -> None:
        """Mask these too (a refreshed token, say); earlier secrets stay masked."""
        # longest first so a secret that contains another is masked whole; ignore trivially short values
        known = set(self._secrets) | {s for s in secrets if s and len(s) >= 3}
        self._secrets = sorted(known, key=len, reverse=True)

    def __call__(self, text: str | None) -> str:
        if not text:
            return text or ""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return redact_text(text)

    def found_in(self, data: bytes) -> bool:
        """True when one of the known secret values occurs in ``data`` (a file about to be shared)."""
        return any(secret.encode() in data for secret in self._secrets)

    def with_secrets(self, secrets: Iterable[str | None]) -> Redactor:
        """A redactor that also knows ``secrets``."""
        return Redactor([*self._secrets, *secrets])

    def __repr__(self) -> str:
        return f"Redactor({len(self._secrets)} secret(s))"


def redact_exception(exc: BaseException, redact: Redactor | None = None) -> str:
    """``exc``'s message followed by its chained causes (``__cause__``/``__context__``), each masked."""
    redact = redact or Redactor()
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        text = str(current) or type(current).__name__
        parts.append(redact(text if current is exc else f"{type(current).__name__}: {text}"))
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return " (caused by ".join(parts) + ")" * (len(parts) - 1)


class RedactingFilter(logging.Filter):
    """A logging filter that masks each record's message, arguments and exception text in place.

    Install it on a handler (the CLI does, at every verbosity) so no log line shows a secret.
    """

    def __init__(self, redact: Redactor | None = None) -> None:
        super().__init__()
        self.redact = redact or Redactor()

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class RedactingStream:
    """A text stream that masks each write before passing it on (everything else is delegated)."""

    def __init__(self, stream: TextIO, redact: Redactor) -> None:
        self._stream = stream
        self._redact = redact

    def write(self, text: str) -> int:
        self._stream.write(self._redact(text))
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    @property
    def unmasked(self) -> TextIO:
        """The wrapped stream, for text that must be shown as it is although it looks like a secret (the dbt
        Cloud emulator's own throwaway token, made for the user to copy)."""
        return self._stream

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def redact_value(value: Any, redact: Callable[[str], str]) -> Any:
    """A JSON-like value (a profile output, vars...) with every text masked and every value under a key that
    names a secret replaced by :data:`MASK` (an ``env_var()`` reference stays: it holds no secret)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, (list, tuple)):
        return [redact_value(item, redact) for item in value]
    if isinstance(value, dict):
        return {redact(str(key)): MASK if is_secret_key(str(key)) and item is not None and "env_var(" not in str(item)
                else redact_value(item, redact) for key, item in value.items()}
    return value


def redact_json_text(text: str, redact: Callable[[str], str]) -> str:
    """A JSON document with every string value (and key) masked, so it stays valid JSON (masking the raw
    text would turn ``"MAX_GROUPING_TOKENS": null`` into invalid JSON); text that is not JSON is masked
    as text."""
    if redact(text) == text:
        return text  # the common case, without parsing
    try:
        document = json.loads(text)
    except ValueError:
        return redact(text)

    def walk(value: Any) -> Any:
        if isinstance(value, str):
            return redact(value)
        if isinstance(value, list):
            return [walk(item) for item in value]
        if isinstance(value, dict):
            return {redact(key): walk(item) for key, item in value.items()}
        return value

    masked = walk(document)
    return text if masked == document else json.dumps(masked)


def redact_file(path: Path, redact: Callable[[str], str], *, start: int = 0) -> bool:
    """Mask what ``path`` holds from byte ``start`` on (what one dbt command appended; a JSON file: all of it,
    value by value) and, when that changed anything, replace the file atomically with the masked text.
    Returns True when the file was rewritten. A ``start`` past the end (the file was rotated or replaced)
    masks the whole file.
    """
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, 2)
            start = start if 0 <= start <= size and path.suffix != ".json" else 0
            handle.seek(start)
            tail = handle.read().decode("utf-8", errors="surrogateescape")
            masked = redact_json_text(tail, redact) if path.suffix == ".json" else redact(tail)
            if masked == tail:
                return False
            handle.seek(0)
            head = handle.read(start)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return False
    write_atomically(path, head + masked.encode("utf-8", errors="surrogateescape"))
    return True
