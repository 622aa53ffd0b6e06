"""The request pipeline: record, redirect, faults, rate limit, auth, method check, handler, lost responses."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from email.utils import format_datetime
from urllib.parse import parse_qs, urlsplit

from dbt_kickoff_emulator.faults import FaultRule, RetryAfterFormat
from dbt_kickoff_emulator.handlers import Request
from dbt_kickoff_emulator.models import Token
from dbt_kickoff_emulator.queries import ValidationFailed
from dbt_kickoff_emulator.recording import Recorder
from dbt_kickoff_emulator.replies import (
    SERVER_ERROR_DETAIL,
    ApiError,
    Reply,
    detail_reply,
    html_reply,
    json_reply,
)
from dbt_kickoff_emulator.routing import Route, resolve
from dbt_kickoff_emulator.state import EmulatorState
from dbt_kickoff_emulator.wire import error_envelope, validation_error

ANONYMOUS = Token("", ())
STATUS_MESSAGES = {
    408: "Request Timeout",
    429: "Too many requests. Please wait before retrying.",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def _retry_after(seconds: float, style: RetryAfterFormat, now: datetime) -> dict[str, str]:
    if style == "http-date":
        return {"Retry-After": format_datetime(now + timedelta(seconds=seconds), usegmt=True)}
    return {"Retry-After": str(int(seconds))}


def fault_reply(rule: FaultRule, now: datetime) -> Reply:
    """The reply a fault rule injects."""
    status = rule.status
    if rule.response == "reset":
        reply = Reply(0, reset=True)
    elif rule.response == "empty":
        reply = Reply(status, b"", "application/json")
    elif rule.response == "html":
        reply = html_reply(status)
    elif rule.response == "detail":
        reply = detail_reply(status, SERVER_ERROR_DETAIL)
    else:
        message = STATUS_MESSAGES.get(status, "Error")
        reply = json_reply(status, error_envelope(status, message, developer_message=None))
    if rule.retry_after is not None:
        reply.headers.update(_retry_after(rule.retry_after, rule.retry_after_format, now))
    return reply


def _invalid_token() -> Reply:
    return json_reply(401, error_envelope(401, "Invalid token.", developer_message=None, data=None))


def authenticate(state: EmulatorState, header: str | None, account_id: int | None) -> Token | Reply:
    """The token named by an ``Authorization: Token|Bearer <t>`` header, or the 401/403 reply."""
    scheme, _, credential = (header or "").strip().partition(" ")
    credential = credential.strip()
    if scheme.lower() not in ("token", "bearer") or not credential or state.faults.host_mismatch:
        return _invalid_token()
    token = state.tokens.get(credential)
    if token is None or token.revoked or state.faults.is_revoked(credential):
        return _invalid_token()
    if token.ip_denied:
        data = {
            "account_id": account_id if account_id is not None else token.account_ids[0],
            "user_id": token.user_id,
            "is_service_token": token.kind == "service",
            "account_access_denied": True,
        }
        return json_reply(
            403, error_envelope(403, "Forbidden: Access denied", developer_message=None, data=data)
        )
    return token


def _route_name(route: Route, method: str) -> str:
    entry = route.methods.get(method)
    return entry[0] if entry else route.name


class Dispatcher:
    """Turns raw requests into replies against one :class:`EmulatorState`."""

    def __init__(self, state: EmulatorState, recorder: Recorder, sleep: Callable[[float], object]) -> None:
        self.state = state
        self.recorder = recorder
        self.sleep = sleep

    def handle(self, method: str, target: str, headers: Sequence[tuple[str, str]], body: bytes) -> Reply:
        """Answer one request (``target`` is the request line's path with its query)."""
        parts = urlsplit(target)
        path, query = parts.path, parse_qs(parts.query, keep_blank_values=True)
        resolved = resolve(path)
        redirect = resolved is None and not path.endswith("/") and resolve(path + "/") is not None
        target_route = resolved or (resolve(path + "/") if redirect else None)
        route_name = None if target_route is None else _route_name(target_route[0], method)
        with self.state.lock:
            secrets = list(self.state.tokens)
        entry = self.recorder.record(
            method=method,
            path=path,
            query=query,
            headers=headers,
            body=body,
            route=route_name,
            secrets=secrets,
        )
        reply = self._answer(method, path, parts.query, query, headers, body, redirect)
        entry.status = reply.status
        return reply

    def _answer(
        self,
        method: str,
        path: str,
        raw_query: str,
        query: dict[str, list[str]],
        headers: Sequence[tuple[str, str]],
        body: bytes,
        redirect: bool,
    ) -> Reply:
        state = self.state
        if redirect:
            location = path + "/" + (f"?{raw_query}" if raw_query else "")
            return Reply(301 if state.faults.legacy_redirects else 308, b"", None, {"Location": location})
        resolved = resolve(path)
        if resolved is None:
            return detail_reply(404, "Not found.")
        route, params = resolved
        route_name = _route_name(route, method)
        run_id = int(params["run_id"]) if "run_id" in params else None
        delay, rule = state.faults.match_before(route_name, method, run_id)
        if delay:
            self.sleep(delay)
        if rule is not None:
            return fault_reply(rule, state.clock.now())
        if route.public and method in route.methods:
            with state.lock:
                return route.methods[method][1](state, Request(method, query, params, body, ANONYMOUS))
        account_id = int(params["account_id"]) if "account_id" in params else None
        if account_id is not None:
            limited = state.faults.check_rate(account_id, state.clock.now())
            if limited is not None:
                seconds, style = limited
                reply = json_reply(429, error_envelope(429, STATUS_MESSAGES[429], developer_message=None))
                if style is not None:
                    reply.headers.update(_retry_after(seconds, style, state.clock.now()))
                return reply
        authorization = next((v for k, v in headers if k.lower() == "authorization"), None)
        with state.lock:
            auth = authenticate(state, authorization, account_id)
            if isinstance(auth, Reply):
                return auth
            if method not in route.methods:
                return detail_reply(405, f'Method "{method}" not allowed.')
            handler = route.methods[method][1]
            try:
                reply = handler(state, Request(method, query, params, body, auth))
            except ApiError as exc:
                reply = exc.reply
            except ValidationFailed as exc:
                reply = json_reply(400, validation_error(exc.fields))
            except Exception as exc:  # an emulator bug: answer like the real server, keep it for the tests
                state.internal_errors.append(exc)
                reply = detail_reply(500, SERVER_ERROR_DETAIL)
        after = state.faults.match_after(route_name, method, run_id) if reply.status == 200 else None
        return fault_reply(after, state.clock.now()) if after is not None else reply
