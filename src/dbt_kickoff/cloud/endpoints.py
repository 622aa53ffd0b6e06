"""What the dbt Cloud clients share: configuration (base URL, auth headers, timeouts, the masker) and the
:class:`~dbt_kickoff.cloud.policy.Request` each endpoint sends. The sync and async clients only add I/O."""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import random
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from typing import Any
from urllib.parse import urlsplit

import httpx

from dbt_kickoff.cloud.clock import Clock, as_clock
from dbt_kickoff.cloud.credentials import DbtCloudCredentials
from dbt_kickoff.cloud.errors import DbtCloudUnavailableError
from dbt_kickoff.cloud.policy import Exchange, Request, Retry, RetryPolicy
from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.redaction import Redactor
from dbt_kickoff.version import __version__

logger = logging.getLogger("dbt_kickoff.cloud.client")
# a host name (labels of letters, digits, '-' and '_') or an IP address (urlsplit strips IPv6 brackets)
_HOST = re.compile(r"^(?:[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?\.)*[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?\.?$|^[0-9a-f:.]+$")

REGION_ALIASES = {
    "us": "https://cloud.getdbt.com",
    "emea": "https://emea.dbt.com",
    "eu": "https://emea.dbt.com",
    "au": "https://au.dbt.com",
}


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
    if any(ch.isspace() or not ch.isprintable() for ch in text):
        raise ConfigurationError(f"dbt Cloud base_url {text!r} holds a space or a control character: a URL has "
                                 "none (use e.g. https://cloud.getdbt.com or your account's access URL)")
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ConfigurationError(f"dbt Cloud base_url {raw!r} is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or not _HOST.match(parts.hostname):
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


def _include(related: Sequence[str]) -> dict[str, str]:
    return {"include_related": ",".join(related)} if related else {}


_GIVE_UP_AT: ContextVar[float | None] = ContextVar("dbt_kickoff_cloud_give_up_at", default=None)


class ClientBase:
    """Configuration and request building shared by the sync and async clients.

    Every request carries ``Authorization: Token …`` and a timeout, every API path ends in ``/``, and
    ``include_related`` is sent comma-separated. ``secrets`` are masked (with the token) in anything that may
    echo server-side text.
    """

    def __init__(
        self,
        credentials: DbtCloudCredentials,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        secrets: Iterable[str] = (),
    ) -> None:
        self.timeout = float(timeout)  # checked by the public constructor (CLIENT_OPTIONS)
        self.access_url = normalize_base_url(credentials.base_url)
        self.host = urlsplit(self.access_url).netloc
        self.account_id = credentials.account_id
        self.retry = retry or RetryPolicy()
        self.clock: Clock = as_clock(clock)
        self._rng = rng or random.Random()
        self._redactor = Redactor([credentials.api_token, *secrets])
        self._api_root = f"/api/v2/accounts/{self.account_id}/"

    def _http_options(self, credentials: DbtCloudCredentials) -> dict[str, Any]:
        return {
            "base_url": self.access_url,
            "headers": {
                "Authorization": f"Token {credentials.api_token}",
                "Accept": "application/json",
                "User-Agent": f"dbt-kickoff/{__version__}",
            },
            "timeout": httpx.Timeout(self.timeout),
            "follow_redirects": True,  # httpx drops Authorization when a redirect leaves the origin
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}(access_url={self.access_url!r}, account_id={self.account_id})"

    def scrub(self, text: str) -> str:
        """``text`` with the token and every known secret masked (for anything that may echo server text)."""
        return self._redactor(text)

    def api_path(self, *segments: object) -> str:
        """``/api/v2/accounts/{account_id}/seg1/seg2/`` — always with the trailing slash."""
        return self._api_root + "".join(f"{s}/" for s in segments)

    def api_v3_path(self, *segments: object) -> str:
        """``/api/v3/accounts/{account_id}/seg1/…/`` (projects and environments live in v3)."""
        return f"/api/v3/accounts/{self.account_id}/" + "".join(f"{s}/" for s in segments)

    @contextlib.contextmanager
    def bounded(self, seconds: float) -> Iterator[None]:
        """Requests sent inside (in this thread or task) give up rather than wait or retry beyond ``seconds``
        from now on the client's clock: a cancel sent while the caller is being stopped must not hold the stop up."""
        token = _GIVE_UP_AT.set(self.clock.monotonic() + seconds)
        try:
            yield
        finally:
            _GIVE_UP_AT.reset(token)

    def _attempt_timeout(self) -> float:
        """The timeout of one attempt: inside :meth:`bounded`, one that ends with the bound."""
        give_up_at = _GIVE_UP_AT.get()
        if give_up_at is None:
            return self.timeout
        return max(0.1, min(self.timeout, give_up_at - self.clock.monotonic()))

    def _check_time_left(self, exchange: Exchange, step: Retry) -> None:
        """Raise instead of retrying when the retry would end beyond the bound of :meth:`bounded`."""
        give_up_at = _GIVE_UP_AT.get()
        if give_up_at is not None and self.clock.monotonic() + step.delay >= give_up_at:
            request = exchange.request
            raise DbtCloudUnavailableError(f"dbt Cloud {exchange.where}: {step.problem}; no time left to retry",
                                           method=request.method, path=request.path)

    def _exchange(self, request: Request) -> Exchange:
        return Exchange(request, self.retry, self.host, self.timeout, self.account_id, self.scrub, self._rng)

    def _log_retry(self, exchange: Exchange, step: Retry) -> None:
        logger.warning(
            "dbt Cloud %s: %s; retrying in %.1fs (attempt %d/%d)",
            exchange.where,
            step.problem,
            step.delay,
            exchange.attempt,
            self.retry.max_attempts,
        )

    # -- the request of each endpoint --------------------------------------------------------------------------

    def _get_run_request(self, run_id: int, include_related: Sequence[str], not_found_retries: int) -> Request:
        return Request(
            "GET", self.api_path("runs", run_id), _include(include_related), not_found_retries=not_found_retries
        )

    @staticmethod
    def _list_runs_params(
        job_id: int | None,
        order_by: str,
        status_in: Iterable[int] | None,
        id_gt: int | None,
        include_related: Sequence[str],
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"order_by": order_by, **_include(include_related)}
        if job_id is not None:
            params["job_definition_id"] = job_id
        if status_in is not None:
            params["status__in"] = "[" + ",".join(str(int(s)) for s in status_in) + "]"
        if id_gt is not None:
            params["id__gt"] = id_gt
        return params

    def _get_job_request(self, job_id: int, include_related: Sequence[str]) -> Request:
        return Request("GET", self.api_path("jobs", job_id), _include(include_related))

    def _trigger_request(self, job_id: int, body: Mapping[str, Any]) -> Request:
        return Request("POST", self.api_path("jobs", job_id, "run"), json_body=body, idempotent=False)

    def _rerun_request(self, job_id: int) -> Request:
        return Request("POST", self.api_path("jobs", job_id, "rerun"), idempotent=False)

    def _cancel_request(self, run_id: int) -> Request:
        return Request("POST", self.api_path("runs", run_id, "cancel"))

    def _retry_request(self, run_id: int) -> Request:
        return Request("POST", self.api_path("runs", run_id, "retry"), idempotent=False)

    def _job_artifact_request(self, job_id: int, path: str) -> Request:
        return Request("GET", self.api_path("jobs", job_id, "artifacts") + path.strip("/"), raw=True)

    def _artifact_request(self, run_id: int, path: str, step: int | None) -> Request:
        params = {"step": step} if step is not None else None
        return Request("GET", self.api_path("runs", run_id, "artifacts") + path.strip("/"), params, raw=True)
