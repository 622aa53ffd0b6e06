"""Fault injection: error statuses, HTML/empty bodies, resets, slowness, lost trigger responses, 429s."""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

ResponseKind = Literal["envelope", "detail", "html", "empty", "reset"]
RetryAfterFormat = Literal["seconds", "http-date"]
LimitMode = Literal["error", "clamp"]

ROUTES = (
    "list_accounts",
    "get_account",
    "list_jobs",
    "get_job",
    "trigger",
    "rerun",
    "job_artifact",
    "list_runs",
    "get_run",
    "cancel",
    "retry",
    "retry_info",
    "list_artifacts",
    "get_artifact",
    "get_step",
    "storage_artifact",
    "list_projects",
    "list_environments",
)


@dataclass
class FaultRule:
    """One injected fault, for every request or only those of a ``route`` name, ``method`` or ``run_id`` (any
    route under ``…/runs/{run_id}/``). ``times=None`` repeats forever; ``after`` lets that many matching
    requests pass first.

    ``phase="before"`` answers instead of the real handler (nothing happens server-side);
    ``phase="after"`` runs the handler first (e.g. the run *is* created) and then replaces its response.
    ``response=None`` only delays (``delay`` seconds) and then answers normally.
    """

    status: int = 500
    response: ResponseKind | None = "envelope"
    route: str | None = None
    method: str | None = None
    run_id: int | None = None
    times: int | None = 1
    after: int = 0
    delay: float = 0.0
    phase: Literal["before", "after"] = "before"
    retry_after: int | None = None
    retry_after_format: RetryAfterFormat = "seconds"
    seen: int = 0
    hits: int = 0

    def take(self, route: str | None, method: str, phase: str, run_id: int | None) -> bool:
        """Whether this rule fires for the request (and count it)."""
        if self.phase != phase or (self.route is not None and self.route != route):
            return False
        if self.run_id is not None and self.run_id != run_id:
            return False
        if self.method is not None and self.method.upper() != method:
            return False
        if self.times is not None and self.hits >= self.times:
            return False
        self.seen += 1
        if self.seen <= self.after:
            return False
        self.hits += 1
        return True


@dataclass
class RateLimit:
    """``per_minute`` requests per account per minute, then 429s for ``cooldown_seconds``."""

    per_minute: int
    cooldown_seconds: float = 300.0
    retry_after: RetryAfterFormat | None = "seconds"
    _recent: dict[int, deque[datetime]] = field(default_factory=dict, repr=False)
    _cooldown_until: dict[int, datetime] = field(default_factory=dict, repr=False)

    def check(self, account_id: int, now: datetime) -> float | None:
        """Seconds until the cooldown ends when the request is refused, else None (request counted)."""
        until = self._cooldown_until.get(account_id)
        if until is not None:
            if now < until:
                return (until - now).total_seconds()
            del self._cooldown_until[account_id]
            self._recent.pop(account_id, None)
        recent = self._recent.setdefault(account_id, deque())
        while recent and (now - recent[0]).total_seconds() >= 60:
            recent.popleft()
        if len(recent) >= self.per_minute:
            self._cooldown_until[account_id] = now + timedelta(seconds=self.cooldown_seconds)
            return float(self.cooldown_seconds)
        recent.append(now)
        return None


@dataclass
class Faults:
    """Every fault knob of the emulator; reach it as ``emulator.faults``.

    Switches: ``host_mismatch`` (every token -> 401, the legacy-host pitfall), ``legacy_redirects`` (a
    missing trailing slash -> 301 instead of 308), ``limit_over_max`` (``"error"`` -> 400 or ``"clamp"``
    for ``limit`` > 100), ``new_run_404s`` (each new run answers 404 to its first K GETs),
    ``max_cause_length`` (longer ``cause`` -> 400; ``None`` = unlimited), ``artifact_redirect_host``
    (e.g. ``"localhost"``: artifact downloads answer 302 to that host, a different origin serving the file
    without a token, to check that a client does not carry its token across hosts).
    """

    host_mismatch: bool = False
    legacy_redirects: bool = False
    limit_over_max: LimitMode = "error"
    new_run_404s: int = 0
    max_cause_length: int | None = 255
    artifact_redirect_host: str | None = None
    rules: list[FaultRule] = field(default_factory=list)
    rate: RateLimit | None = None
    _poll_budgets: dict[str, int] = field(default_factory=dict, repr=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def add(self, rule: FaultRule) -> FaultRule:
        """Install a rule (rules fire in the order they were added) and return it."""
        if rule.route is not None and rule.route not in ROUTES:
            raise ValueError(f"unknown route {rule.route!r}; routes are: {', '.join(ROUTES)}")
        with self._lock:
            self.rules.append(rule)
        return rule

    def fail(
        self,
        status: int = 500,
        *,
        response: ResponseKind = "envelope",
        times: int | None = 1,
        route: str | None = None,
        method: str | None = None,
        run_id: int | None = None,
        after: int = 0,
        retry_after: int | None = None,
        retry_after_format: RetryAfterFormat = "seconds",
    ) -> FaultRule:
        """Answer ``status`` instead of handling the request (e.g. 429, 500, 502, 503, 504)."""
        return self.add(
            FaultRule(
                status=status,
                response=response,
                times=times,
                route=route,
                method=method,
                run_id=run_id,
                after=after,
                retry_after=retry_after,
                retry_after_format=retry_after_format,
            )
        )

    def html_error(self, status: int = 500, **kwargs: object) -> FaultRule:
        """An HTML error page instead of JSON."""
        return self.fail(status, response="html", **kwargs)  # type: ignore[arg-type]

    def empty_success(self, **kwargs: object) -> FaultRule:
        """A 200 with an empty body."""
        return self.fail(200, response="empty", **kwargs)  # type: ignore[arg-type]

    def reset_connection(self, **kwargs: object) -> FaultRule:
        """Drop the connection without answering (TCP reset)."""
        return self.fail(0, response="reset", **kwargs)  # type: ignore[arg-type]

    def slow(
        self,
        seconds: float,
        *,
        times: int | None = 1,
        route: str | None = None,
        method: str | None = None,
        run_id: int | None = None,
    ) -> FaultRule:
        """Wait ``seconds`` before answering normally (to exercise client timeouts)."""
        return self.add(
            FaultRule(response=None, delay=seconds, times=times, route=route, method=method, run_id=run_id)
        )

    def lose_trigger_response(
        self, how: Literal["500", "html", "reset"] = "500", *, times: int | None = 1, route: str = "trigger"
    ) -> FaultRule:
        """Create the run, then answer 500 (JSON detail), an HTML 500, or drop the connection."""
        response: ResponseKind = {"500": "detail", "html": "html", "reset": "reset"}[how]  # type: ignore[assignment]
        return self.add(FaultRule(status=500, response=response, times=times, route=route, phase="after"))

    def rate_limit(
        self,
        per_minute: int,
        *,
        cooldown_seconds: float = 300.0,
        retry_after: RetryAfterFormat | None = "seconds",
    ) -> RateLimit:
        """429 once an account exceeds ``per_minute`` requests in a minute, for ``cooldown_seconds``."""
        with self._lock:
            self.rate = RateLimit(per_minute, cooldown_seconds, retry_after)
            return self.rate

    def revoke_token_after(self, token: str, polls: int) -> None:
        """``token`` answers ``polls`` run GETs normally, then is revoked (401 everywhere)."""
        with self._lock:
            self._poll_budgets[token] = polls

    def spend_poll(self, token: str) -> None:
        """Count a run GET made with ``token`` against its budget."""
        with self._lock:
            if token in self._poll_budgets:
                self._poll_budgets[token] -= 1

    def is_revoked(self, token: str) -> bool:
        """Whether ``token`` has spent its poll budget."""
        with self._lock:
            return self._poll_budgets.get(token, 1) <= 0

    def match_before(
        self, route: str | None, method: str, run_id: int | None
    ) -> tuple[float, FaultRule | None]:
        """``(delay, rule)`` for a request about to be handled: the summed delay of the slow rules that fire,
        and the first rule that answers instead of the server (if any)."""
        delay = 0.0
        with self._lock:
            for rule in self.rules:
                if rule.take(route, method, "before", run_id):
                    if rule.response is not None:
                        return delay, rule
                    delay += rule.delay
        return delay, None

    def match_after(self, route: str | None, method: str, run_id: int | None) -> FaultRule | None:
        """The first rule replacing the answer of a request the server has handled, if any."""
        with self._lock:
            for rule in self.rules:
                if rule.take(route, method, "after", run_id):
                    return rule
        return None

    def check_rate(self, account_id: int, now: datetime) -> tuple[float, RetryAfterFormat | None] | None:
        """``(seconds_left, header_format)`` when the account is rate limited, else None."""
        with self._lock:
            if self.rate is None:
                return None
            wait = self.rate.check(account_id, now)
            return None if wait is None else (float(math.ceil(wait)), self.rate.retry_after)

    def clear(self) -> None:
        """Remove every rule, the rate limit and token budgets; switches keep their values."""
        with self._lock:
            self.rules.clear()
            self.rate = None
            self._poll_budgets.clear()
