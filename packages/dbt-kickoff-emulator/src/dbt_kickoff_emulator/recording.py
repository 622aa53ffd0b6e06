"""The request log: every request as the server saw it, with token values masked, plus per-route counters."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

MASK = "***"


@dataclass
class RecordedRequest:
    """One request: ``query`` as parsed (name -> values), ``headers`` with tokens masked, ``body`` parsed JSON
    (or text, or None). ``token_in_url_or_body`` flags a token value found outside the Authorization header.
    ``status`` is the status answered (0 when the connection was dropped)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    route: str | None
    token_in_url_or_body: bool
    status: int | None = None


def _mask(text: str, secrets: Iterable[str]) -> tuple[str, bool]:
    leaked = False
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, MASK)
            leaked = True
    return text, leaked


def _mask_authorization(value: str) -> str:
    scheme, _, credential = value.strip().partition(" ")
    return f"{scheme} {MASK}" if credential else MASK


class Recorder:
    """Thread-safe log of :class:`RecordedRequest` and a route counter."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._counts: Counter[str] = Counter()

    def record(
        self,
        *,
        method: str,
        path: str,
        query: Mapping[str, list[str]],
        headers: Iterable[tuple[str, str]],
        body: bytes,
        route: str | None,
        secrets: Iterable[str],
    ) -> RecordedRequest:
        """Mask and store one request; returns the stored entry (its ``status`` is filled in later)."""
        secrets = [s for s in secrets if s]
        leaked = False
        masked_headers: dict[str, str] = {}
        for name, value in headers:
            if name.lower() == "authorization":
                masked_headers[name] = _mask_authorization(value)
                continue
            masked_headers[name], hit = _mask(value, secrets)
            leaked = leaked or hit
        masked_path, hit = _mask(path, secrets)
        leaked = leaked or hit
        masked_query: dict[str, list[str]] = {}
        for name, values in query.items():
            masked_values = []
            for value in values:
                masked, hit = _mask(value, secrets)
                leaked = leaked or hit
                masked_values.append(masked)
            masked_query[_mask(name, secrets)[0]] = masked_values
        text, hit = _mask(body.decode("utf-8", errors="replace"), secrets)
        leaked = leaked or hit
        parsed: Any = None
        if text:
            try:
                parsed = json.loads(text)
            except json.JSONDecodeError:
                parsed = text
        entry = RecordedRequest(method, masked_path, masked_query, masked_headers, parsed, route, leaked)
        with self._lock:
            self._requests.append(entry)
            self._counts[route or "unknown"] += 1
        return entry

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()
            self._counts.clear()
