"""The one decision core of the dbt Cloud clients: what each answer or transport error means, and what to do next.

Pure code, no I/O: the sync :class:`~dbt_kickoff.cloud.client.DbtCloudClient` and the async
:class:`~dbt_kickoff.cloud.aclient.AsyncDbtCloudClient` send a request, hand the response (or the httpx error)
to an :class:`Exchange`, and either get the value, an exception to raise, or a :class:`Retry` with the delay to
sleep before sending again. Rules: 429 is retried honouring ``Retry-After``; 408/5xx, empty or non-JSON bodies
and connection failures are retried with bounded exponential backoff — but a non-idempotent request (trigger,
rerun) only when dbt Cloud surely did not act, else :class:`RequestOutcomeUnknown` is raised for the caller to
reconcile; 400/401/403/404 fail at once with dbt Cloud's message.
"""

from __future__ import annotations

import email.utils
import json
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timezone
from typing import Any

import httpx

from dbt_kickoff.cloud.errors import (
    DbtCloudAPIError,
    DbtCloudAuthError,
    DbtCloudNotFoundError,
    DbtCloudPermissionError,
    DbtCloudUnavailableError,
    DbtCloudValidationError,
)

MAX_PAGE_SIZE = 100
_BODY_SNIPPET = 200


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to retry. Backoff doubles from ``initial_backoff`` up to ``max_backoff``.

    ``max_attempts`` bounds the attempts of one request (first try included); ``max_retry_after`` caps a
    server-requested wait (dbt Cloud's rate-limit cooldown is five minutes); ``not_found_retries`` is how
    often a run we just triggered may answer 404 before we believe it.
    """

    max_attempts: int = 6
    initial_backoff: float = 1.0
    max_backoff: float = 30.0
    jitter: float = 0.1
    max_retry_after: float = 330.0
    not_found_retries: int = 4

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        base = min(self.max_backoff, self.initial_backoff * 2 ** (attempt - 1))
        return base * (1 + self.jitter * (rng or random).random())


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta seconds or an HTTP date); ``None`` if unusable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - now)


class RequestOutcomeUnknown(DbtCloudUnavailableError):
    """A non-idempotent request failed after it may have reached dbt Cloud; it may or may not have acted.

    ``server_answered``: dbt Cloud sent a (bad) response, so it finished handling the request.
    ``timed_out``: no answer within the timeout, so dbt Cloud may still be handling it.
    Otherwise the connection was dropped without an answer.
    """

    def __init__(
        self, message: str, *, server_answered: bool, timed_out: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.server_answered = server_answered
        self.timed_out = timed_out


@dataclass(frozen=True)
class Request:
    """One logical API request (sent once, or again when the :class:`Exchange` says so)."""

    method: str
    path: str
    params: Mapping[str, Any] | None = None
    json_body: Mapping[str, Any] | None = None
    idempotent: bool = True
    not_found_retries: int = 0
    raw: bool = False  # the answer is a file (artifact), not an enveloped JSON document

    def httpx_kwargs(self) -> dict[str, Any]:
        return {
            "params": dict(self.params) if self.params else None,
            "json": dict(self.json_body) if self.json_body is not None else None,
            "headers": {"Accept": "*/*"} if self.raw else None,
        }


@dataclass(frozen=True)
class Retry:
    """Send the request again after ``delay`` seconds."""

    delay: float
    problem: str


@dataclass(frozen=True)
class Done:
    """The request succeeded: ``value`` is the enveloped payload (a dict), or the response for raw requests."""

    value: Any


@dataclass
class Exchange:
    """The attempts of one :class:`Request`; feed it each response or error, do what it returns."""

    request: Request
    policy: RetryPolicy
    host: str
    timeout: float
    account_id: int
    scrub: Callable[[str], str]
    rng: random.Random = field(default_factory=random.Random)
    attempt: int = 0
    _not_found: int = 0

    @property
    def where(self) -> str:
        return f"{self.request.method} {self.request.path}"

    def failed(self, exc: httpx.HTTPError) -> Retry:
        """Classify a transport error: a :class:`Retry`, or raise what the caller must see."""
        self.attempt += 1
        idempotent = self.request.idempotent
        if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)):  # never reached dbt Cloud
            return self._retry(f"could not connect to {self.host} ({type(exc).__name__})", True)
        if isinstance(exc, httpx.TimeoutException):
            problem = f"no answer from {self.host} within {self.timeout:g}s ({type(exc).__name__})"
            return self._retry(problem, idempotent, timed_out=True)
        if isinstance(exc, httpx.TransportError):
            return self._retry(f"connection to {self.host} failed ({type(exc).__name__})", idempotent)
        # redirects, decoding: retrying would not help
        raise DbtCloudAPIError(
            f"dbt Cloud {self.where} failed: {type(exc).__name__}",
            method=self.request.method,
            path=self.request.path,
        ) from None

    def answered(self, response: httpx.Response, now: float) -> Retry | Done:
        """Classify a response (``now``: wall-clock seconds, to read an HTTP-date ``Retry-After``)."""
        self.attempt += 1
        code = response.status_code
        idempotent = self.request.idempotent
        if code == 429:
            retry_after = parse_retry_after(
                response.headers.get("retry-after") or response.headers.get("x-rate-limit-retry-after-seconds"),
                now,
            )
            return self._retry("rate limited (429)", True, code=code, retry_after=retry_after)
        if code >= 500 or code == 408:
            problem = f"HTTP {code} with {self.scrub(describe_body(response))}"
            return self._retry(problem, idempotent, code=code, answered=True)
        if code == 404 and self._not_found < self.request.not_found_retries:
            self._not_found += 1
            return self._retry("404 for a run that was just created", True, code=code)
        if code >= 400:
            raise api_error(response, self.request, host=self.host, account_id=self.account_id, scrub=self.scrub)
        if self.request.raw:
            return Done(response)
        payload = parse_json(response)
        if isinstance(payload, dict) and "data" in payload:
            return Done(payload)
        problem = f"HTTP {code} with {self.scrub(describe_body(response))}"
        if isinstance(payload, dict):
            problem = f"HTTP {code} without a data envelope: {self.scrub(snippet(str(payload)))}"
        return self._retry(problem, idempotent, code=code, answered=True)

    def _retry(
        self,
        problem: str,
        safe: bool,
        *,
        code: int | None = None,
        answered: bool = False,
        timed_out: bool = False,
        retry_after: float | None = None,
    ) -> Retry:
        method, path = self.request.method, self.request.path
        if not safe:
            raise RequestOutcomeUnknown(
                f"dbt Cloud {self.where}: {problem}; the request may have been applied",
                server_answered=answered,
                timed_out=timed_out,
                status_code=code,
                method=method,
                path=path,
            )
        if self.attempt >= self.policy.max_attempts:
            raise DbtCloudUnavailableError(
                f"dbt Cloud {self.where}: {problem}; gave up after {self.attempt} attempts",
                status_code=code,
                method=method,
                path=path,
            )
        delay = self.policy.backoff(self.attempt, self.rng)
        if retry_after is not None:
            delay = min(retry_after, self.policy.max_retry_after)
        return Retry(delay, problem)


@dataclass
class Pager:
    """Offsets of a list endpoint (``limit`` ≤ 100) until ``total_count``, a short page or ``max_items``."""

    params: Mapping[str, Any] | None
    page_size: int = MAX_PAGE_SIZE
    max_items: int | None = None
    offset: int = 0
    seen: int = 0
    finished: bool = False

    def __post_init__(self) -> None:
        self.page_size = max(1, min(self.page_size, MAX_PAGE_SIZE))
        if self.max_items is not None:
            self.page_size = max(1, min(self.page_size, self.max_items))

    def next_params(self) -> dict[str, Any] | None:
        """Query of the next page, or ``None`` when done."""
        if self.finished:
            return None
        return {**(self.params or {}), "limit": self.page_size, "offset": self.offset}

    def take(self, payload: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The items of a page to hand out (and whether more pages follow)."""
        items = list(payload.get("data") or [])
        if self.max_items is not None and self.seen + len(items) >= self.max_items:
            items = items[: self.max_items - self.seen]
            self.finished = True
        self.seen += len(items)
        total = ((payload.get("extra") or {}).get("pagination") or {}).get("total_count")
        if len(items) < self.page_size or (isinstance(total, int) and self.seen >= total):
            self.finished = True
        self.offset += len(items)
        return items


def snippet(text: str) -> str:
    text = " ".join(text.split())
    return text[:_BODY_SNIPPET] + ("…" if len(text) > _BODY_SNIPPET else "")


def parse_json(response: httpx.Response) -> Any:
    if not response.content.strip():
        return None
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def describe_body(response: httpx.Response) -> str:
    if not response.content.strip():
        return "an empty body"
    payload = parse_json(response)
    if isinstance(payload, dict):
        status = payload.get("status")
        said = (status.get("user_message") if isinstance(status, dict) else None) or payload.get("detail")
        return f"message {said!r}" if said else f"body {snippet(str(payload))}"
    kind = response.headers.get("content-type", "unknown type").split(";")[0]
    return f"a non-JSON body ({kind}): {snippet(response.text)}"


def api_error(
    response: httpx.Response, request: Request, *, host: str, account_id: int, scrub: Callable[[str], str]
) -> DbtCloudAPIError:
    """The typed error for a 4xx answer, with dbt Cloud's message and what to check."""
    code = response.status_code
    method, path = request.method, request.path
    payload = parse_json(response)
    user_message: str | None = None
    developer_message: str | None = None
    field_errors: dict[str, Any] = {}
    if isinstance(payload, dict):
        status = payload.get("status")
        if isinstance(status, dict):
            user_message = status.get("user_message") or None
            developer_message = status.get("developer_message") or None
        if user_message is None and payload.get("detail"):
            user_message = str(payload["detail"])
        if code == 400 and isinstance(payload.get("data"), dict):
            field_errors = payload["data"]
    said = user_message or (describe_body(response) if payload is None else snippet(str(payload)))
    message = f"dbt Cloud answered {code} to {method} {path}: {said.rstrip('.')}"
    if developer_message:
        message += f" ({developer_message})"
    if field_errors:
        message += "; " + "; ".join(f"{k}: {v}" for k, v in field_errors.items())
    cls: type[DbtCloudAPIError] = DbtCloudAPIError
    if code == 400:
        cls = DbtCloudValidationError
    elif code == 401:
        cls = DbtCloudAuthError
        message += (
            f". The host in use is {host}: dbt Cloud answers 401 to a valid token sent to the wrong host. "
            "If your account has an account-specific access URL (e.g. ab123.us1.dbt.com, see Account "
            "settings), set base_url to it; otherwise check that the token is current."
        )
    elif code == 403:
        cls = DbtCloudPermissionError
        message += ". Access denied: check the account's IP allowlist and the token's permission set."
    elif code == 404:
        cls = DbtCloudNotFoundError
        message += (
            f". It does not exist in account {account_id} or this token cannot see it "
            "(dbt Cloud answers 404 to missing permissions): check the id and the token's project access."
        )
    return cls(
        scrub(message),
        status_code=code,
        user_message=scrub(user_message) if user_message else None,
        field_errors={k: scrub(str(v)) for k, v in field_errors.items()},
        method=method,
        path=path,
    )
