"""Hide secret values in any text that may reach a log line, an exception or the console."""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "***"
_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:@/\s]*):(?P<pw>[^@/\s]+)@")


def redact_url_credentials(text: str) -> str:
    """``scheme://user:password@host`` -> ``scheme://user:***@host`` anywhere in ``text``."""
    if "@" not in text:  # no userinfo possible; skips the scan of large texts such as dbt.log
        return text
    return _URL_USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)


class Redactor:
    """Replaces known secret values (and URL passwords) with ``***``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
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
        return redact_url_credentials(text)

    def __repr__(self) -> str:
        return f"Redactor({len(self._secrets)} secret(s))"
