"""HTTP access to the dbt Cloud Administrative API v2: auth, base URLs, timeouts, retries, errors, paging.

Only transport concerns live here; what a run is and how to wait for one is in :mod:`dbt_kickoff.cloud.runs`.
"""

from __future__ import annotations

import email.utils
import ipaddress
import json
import logging
import random
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timezone
from typing import Any
from urllib.parse import urlsplit

import httpx

from dbt_kickoff.cloud.clock import Clock, as_clock
from dbt_kickoff.cloud.credentials import DbtCloudCredentials
from dbt_kickoff.cloud.errors import (
    DbtCloudAPIError,
    DbtCloudAuthError,
    DbtCloudNotFoundError,
    DbtCloudPermissionError,
    DbtCloudUnavailableError,
    DbtCloudValidationError,
)
from dbt_kickoff.errors import ConfigurationError

logger = logging.getLogger(__name__)

REGION_ALIASES = {
    "us": "https://cloud.getdbt.com",
    "emea": "https://emea.dbt.com",
    "eu": "https://emea.dbt.com",
    "au": "https://au.dbt.com",
}
MAX_PAGE_SIZE = 100
_BODY_SNIPPET = 200


def normalize_base_url(raw: str) -> str:
    """The access URL (``scheme://host[:port][/prefix]``, no trailing slash) for any way users write it.

    Accepts a bare host (``cloud.getdbt.com``, ``ab123.us1.dbt.com``), an origin with or without a trailing
    slash, a base that already ends in ``/api`` or ``/api/v2`` (Terraform, dlt), a URL copied from the dbt
    Cloud UI (``…/deploy/…``) and the region aliases ``us``, ``emea`` and ``au``.
    """
    text = (raw or "").strip()
    if not text:
        raise ConfigurationError("dbt Cloud base_url is empty: use e.g. https://cloud.getdbt.com")
    if text.lower() in REGION_ALIASES:
        return REGION_ALIASES[text.lower()]
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ConfigurationError(f"dbt Cloud base_url {raw!r} is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"dbt Cloud base_url {raw!r} must be an http(s) URL or a host name")
    if parts.username or parts.password:
        raise ConfigurationError("dbt Cloud base_url must not contain credentials; pass the token separately")
    segments = [s for s in parts.path.split("/") if s]
    for stop in ("api", "deploy", "#"):
        if stop in segments:
            segments = segments[: segments.index(stop)]
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    prefix = "/" + "/".join(segments) if segments else ""
    url = f"{parts.scheme}://{host}{f':{port}' if port else ''}{prefix}"
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        logger.warning("dbt Cloud base_url %s uses plain http: the token would travel unencrypted", url)
    return url


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return text[:_BODY_SNIPPET] + ("…" if len(text) > _BODY_SNIPPET else "")


def _parse_json(response: httpx.Response) -> Any:
    if not response.content.strip():
        return None
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def _describe_body(response: httpx.Response) -> str:
    if not response.content.strip():
        return "an empty body"
    payload = _parse_json(response)
    if isinstance(payload, dict):
        status = payload.get("status")
        said = (status.get("user_message") if isinstance(status, dict) else None) or payload.get("detail")
        return f"message {said!r}" if said else f"body {_snippet(str(payload))}"
    kind = response.headers.get("content-type", "unknown type").split(";")[0]
    return f"a non-JSON body ({kind}): {_snippet(response.text)}"


class DbtCloudClient:
    """A thin, retrying HTTP client for one dbt Cloud account.

    Every request carries ``Authorization: Token …`` and a timeout, every API path ends in ``/``, and
    ``include_related`` is sent comma-separated. Idempotent requests are retried on 429 (honouring
    ``Retry-After``), 408/5xx, empty or non-JSON bodies and connection failures, with bounded exponential
    backoff. Non-idempotent requests (trigger, rerun) are retried only when dbt Cloud surely did not act (429,
    connection refused); otherwise :class:`RequestOutcomeUnknown` is raised for the caller to reconcile.
    400/401/403/404 fail at once with dbt Cloud's message.
    """

    def __init__(
        self,
        credentials: DbtCloudCredentials,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        clock: Any = None,
        transport: httpx.BaseTransport | None = None,
        rng: random.Random | None = None,
    ) -> None:
        from dbt_kickoff import __version__

        if timeout is None or timeout <= 0:
            raise ConfigurationError("the dbt Cloud request timeout must be a positive number of seconds")
        self.access_url = normalize_base_url(credentials.base_url)
        self.host = urlsplit(self.access_url).netloc
        self.account_id = credentials.account_id
        self.timeout = float(timeout)
        self.retry = retry or RetryPolicy()
        self.clock: Clock = as_clock(clock)
        self._rng = rng or random.Random()
        self._token = credentials.api_token
        self._api_root = f"/api/v2/accounts/{self.account_id}/"
        self._http = httpx.Client(
            base_url=self.access_url,
            headers={
                "Authorization": f"Token {credentials.api_token}",
                "Accept": "application/json",
                "User-Agent": f"dbt-kickoff/{__version__}",
            },
            timeout=httpx.Timeout(self.timeout),
            follow_redirects=True,  # httpx drops Authorization when a redirect leaves the origin
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"DbtCloudClient(access_url={self.access_url!r}, account_id={self.account_id})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> DbtCloudClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- generic requests ------------------------------------------------------------------------------------

    def api_path(self, *segments: object) -> str:
        """``/api/v2/accounts/{account_id}/seg1/seg2/`` — always with the trailing slash."""
        return self._api_root + "".join(f"{s}/" for s in segments)

    def get_json(
        self, path: str, params: Mapping[str, Any] | None = None, *, not_found_retries: int = 0
    ) -> dict[str, Any]:
        """GET an enveloped JSON document (retried)."""
        return self._send("GET", path, params=params, idempotent=True, not_found_retries=not_found_retries)

    def post_json(
        self, path: str, body: Mapping[str, Any] | None = None, *, idempotent: bool = False
    ) -> dict[str, Any]:
        """POST and return the enveloped JSON answer; see the class docstring for what is retried."""
        return self._send("POST", path, json_body=body, idempotent=idempotent)

    def get_bytes(self, path: str, params: Mapping[str, Any] | None = None) -> bytes:
        """GET a raw (not enveloped) document, e.g. an artifact (which may be JSON, SQL or parquet)."""
        response = self._send("GET", path, params=params, idempotent=True, raw=True)
        assert isinstance(response, httpx.Response)
        return response.content

    def paginate(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        page_size: int = MAX_PAGE_SIZE,
        max_items: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Yield the items of a list endpoint page by page (``limit`` ≤ 100) until ``total_count`` or a short
        page."""
        page_size = max(1, min(page_size, MAX_PAGE_SIZE))
        if max_items is not None:
            page_size = max(1, min(page_size, max_items))
        offset = seen = 0
        while True:
            payload = self.get_json(path, {**(params or {}), "limit": page_size, "offset": offset})
            items = payload.get("data") or []
            for item in items:
                yield item
                seen += 1
                if max_items is not None and seen >= max_items:
                    return
            total = ((payload.get("extra") or {}).get("pagination") or {}).get("total_count")
            if len(items) < page_size or (isinstance(total, int) and seen >= total):
                return
            offset += len(items)

    # -- endpoints -------------------------------------------------------------------------------------------

    def get_run(
        self, run_id: int, include_related: Sequence[str] = (), *, not_found_retries: int = 0
    ) -> dict[str, Any]:
        params = _include(include_related)
        path = self.api_path("runs", run_id)
        return self.get_json(path, params, not_found_retries=not_found_retries)["data"]

    def list_runs(
        self,
        job_id: int | None = None,
        *,
        order_by: str = "id",
        status_in: Iterable[int] | None = None,
        id_gt: int | None = None,
        include_related: Sequence[str] = (),
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Runs of the account (or of ``job_id``), ``limit`` of them at most (all when ``None``)."""
        params: dict[str, Any] = {"order_by": order_by, **_include(include_related)}
        if job_id is not None:
            params["job_definition_id"] = job_id
        if status_in is not None:
            params["status__in"] = "[" + ",".join(str(int(s)) for s in status_in) + "]"
        if id_gt is not None:
            params["id__gt"] = id_gt
        return list(self.paginate(self.api_path("runs"), params, max_items=limit))

    def get_job(self, job_id: int, include_related: Sequence[str] = ()) -> dict[str, Any]:
        return self.get_json(self.api_path("jobs", job_id), _include(include_related))["data"]

    def list_jobs(self, **filters: Any) -> list[dict[str, Any]]:
        return list(self.paginate(self.api_path("jobs"), filters))

    def trigger_run(self, job_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST …/jobs/{job_id}/run/ once (plus safe retries); may raise :class:`RequestOutcomeUnknown`."""
        return self.post_json(self.api_path("jobs", job_id, "run"), body)["data"]

    def rerun_job(self, job_id: int) -> dict[str, Any]:
        """POST …/jobs/{job_id}/rerun/ (no body); may raise :class:`RequestOutcomeUnknown`."""
        return self.post_json(self.api_path("jobs", job_id, "rerun"))["data"]

    def cancel_run(self, run_id: int) -> dict[str, Any]:
        return self.post_json(self.api_path("runs", run_id, "cancel"), idempotent=True)["data"]

    def list_artifacts(self, run_id: int) -> list[str]:
        return list(self.get_json(self.api_path("runs", run_id, "artifacts"))["data"] or [])

    def get_artifact(self, run_id: int, path: str, *, step: int | None = None) -> bytes:
        """One artifact file (``step`` is 1-based; dbt Cloud defaults to the last step)."""
        clean = path.strip("/")
        params = {"step": step} if step is not None else None
        return self.get_bytes(self.api_path("runs", run_id, "artifacts") + clean, params)

    # -- machinery -------------------------------------------------------------------------------------------

    def scrub(self, text: str) -> str:
        """``text`` with the token masked (for anything that may echo server-side text)."""
        return text.replace(self._token, "***") if self._token else text

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Mapping[str, Any] | None = None,
        idempotent: bool,
        not_found_retries: int = 0,
        raw: bool = False,
    ) -> Any:
        policy = self.retry
        attempt = not_found = 0
        while True:
            attempt += 1
            retry_after: float | None = None
            answered = timed_out = False
            status_code: int | None = None
            try:
                response = self._http.request(
                    method,
                    path,
                    params=dict(params) if params else None,
                    json=dict(json_body) if json_body is not None else None,
                    headers={"Accept": "*/*"} if raw else None,
                )
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                problem, safe = f"could not connect to {self.host} ({type(exc).__name__})", True
            except httpx.TimeoutException as exc:
                problem = f"no answer from {self.host} within {self.timeout:g}s ({type(exc).__name__})"
                safe, timed_out = idempotent, True
            except httpx.TransportError as exc:
                problem, safe = f"connection to {self.host} failed ({type(exc).__name__})", idempotent
            except httpx.HTTPError as exc:  # redirects, decoding: retrying would not help
                raise DbtCloudAPIError(
                    f"dbt Cloud {method} {path} failed: {type(exc).__name__}", method=method, path=path
                ) from None
            else:
                status_code = response.status_code
                logger.debug("dbt Cloud %s %s -> %s (attempt %d)", method, path, status_code, attempt)
                if status_code == 429:
                    retry_after = parse_retry_after(
                        response.headers.get("retry-after")
                        or response.headers.get("x-rate-limit-retry-after-seconds"),
                        self.clock.time(),
                    )
                    problem, safe = "rate limited (429)", True
                elif status_code >= 500 or status_code == 408:
                    problem = f"HTTP {status_code} with {self.scrub(_describe_body(response))}"
                    safe, answered = idempotent, True
                elif status_code == 404 and not_found < not_found_retries:
                    not_found += 1
                    problem, safe = "404 for a run that was just created", True
                elif status_code >= 400:
                    raise self._api_error(response, method, path)
                elif raw:
                    return response
                else:
                    payload = _parse_json(response)
                    if isinstance(payload, dict) and "data" in payload:
                        return payload
                    problem = f"HTTP {status_code} with {self.scrub(_describe_body(response))}"
                    if isinstance(payload, dict):
                        said = self.scrub(_snippet(str(payload)))
                        problem = f"HTTP {status_code} without a data envelope: {said}"
                    safe, answered = idempotent, True
            where = f"{method} {path}"
            if not safe:
                raise RequestOutcomeUnknown(
                    f"dbt Cloud {where}: {problem}; the request may have been applied",
                    server_answered=answered,
                    timed_out=timed_out,
                    status_code=status_code,
                    method=method,
                    path=path,
                )
            if attempt >= policy.max_attempts:
                raise DbtCloudUnavailableError(
                    f"dbt Cloud {where}: {problem}; gave up after {attempt} attempts",
                    status_code=status_code,
                    method=method,
                    path=path,
                )
            delay = policy.backoff(attempt, self._rng)
            if retry_after is not None:
                delay = min(retry_after, policy.max_retry_after)
            logger.warning(
                "dbt Cloud %s: %s; retrying in %.1fs (attempt %d/%d)",
                where,
                problem,
                delay,
                attempt,
                policy.max_attempts,
            )
            self.clock.sleep(delay)

    def _api_error(self, response: httpx.Response, method: str, path: str) -> DbtCloudAPIError:
        code = response.status_code
        payload = _parse_json(response)
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
        said = user_message or (_describe_body(response) if payload is None else _snippet(str(payload)))
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
                f". The host in use is {self.host}: dbt Cloud answers 401 to a valid token sent to the wrong "
                "host. "
                "If your account has an account-specific access URL (e.g. ab123.us1.dbt.com, see Account "
                "settings), set base_url to it; otherwise check that the token is current."
            )
        elif code == 403:
            cls = DbtCloudPermissionError
            message += ". Access denied: check the account's IP allowlist and the token's permission set."
        elif code == 404:
            cls = DbtCloudNotFoundError
            message += (
                f". It does not exist in account {self.account_id} or this token cannot see it "
                "(dbt Cloud answers 404 to missing permissions): check the id and the token's project access."
            )
        return cls(
            self.scrub(message),
            status_code=code,
            user_message=self.scrub(user_message) if user_message else None,
            field_errors={k: self.scrub(str(v)) for k, v in field_errors.items()},
            method=method,
            path=path,
        )


def _include(related: Sequence[str]) -> dict[str, str]:
    return {"include_related": ",".join(related)} if related else {}
