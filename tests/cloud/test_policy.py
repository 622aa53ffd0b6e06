"""The decision core alone (no server): what each answer or transport error means for one request.

The same :class:`Exchange` decides for the sync and the async client; these cases pin its table."""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest

from dbt_kickoff.cloud import (
    DbtCloudAuthError,
    DbtCloudNotFoundError,
    DbtCloudUnavailableError,
    DbtCloudValidationError,
    RetryPolicy,
)
from dbt_kickoff.cloud.policy import Done, Exchange, Pager, Request, RequestOutcomeUnknown, Retry

READ = Request("GET", "/api/v2/accounts/1/runs/5/")
TRIGGER = Request("POST", "/api/v2/accounts/1/jobs/2/run/", json_body={"cause": "x"}, idempotent=False)
ENVELOPE = {"status": {"code": 200}, "data": {"id": 5}}


def exchange(request: Request = READ, **policy: Any) -> Exchange:
    retry = RetryPolicy(jitter=0, **policy)
    return Exchange(request, retry, "cloud.example", 30.0, 1, lambda t: t.replace("s3cret", "***"), random.Random(1))


def response(code: int, body: Any = None, headers: dict[str, str] | None = None, text: str | None = None) -> Any:
    request = httpx.Request("GET", "https://cloud.example/")
    if text is not None:
        return httpx.Response(code, text=text, headers=headers, request=request)
    return httpx.Response(code, json=body, headers=headers, request=request)


@pytest.mark.parametrize(
    ("answer", "delay"),
    [
        (response(429, headers={"Retry-After": "40"}), 40),
        (response(429, headers={"x-rate-limit-retry-after-seconds": "7"}), 7),
        (response(429, headers={"Retry-After": "9999"}), 330),  # capped
        (response(429), 1),
        (response(502, text="<html>Bad gateway</html>", headers={"content-type": "text/html"}), 1),
        (response(503, {"status": {"user_message": "down"}}), 1),
        (response(408, {}), 1),
        (response(200, text=""), 1),
        (response(200, {"detail": "no envelope"}), 1),
    ],
)
def test_reads_retry_what_may_pass(answer: httpx.Response, delay: float) -> None:
    step = exchange().answered(answer, now=0.0)
    assert isinstance(step, Retry) and step.delay == delay


def test_backoff_doubles_and_attempts_are_bounded() -> None:
    ex = exchange(max_attempts=4)
    delays = [ex.answered(response(503, {}), 0.0).delay for _ in range(3)]  # type: ignore[union-attr]
    assert delays == [1, 2, 4]
    with pytest.raises(DbtCloudUnavailableError, match="gave up after 4 attempts") as info:
        ex.answered(response(503, {}), 0.0)
    assert info.value.status_code == 503


@pytest.mark.parametrize(
    ("error", "answered", "timed_out"),
    [
        (httpx.ReadTimeout("slow"), False, True),
        (httpx.RemoteProtocolError("dropped"), False, False),
    ],
)
def test_a_trigger_is_not_resent_when_it_may_have_acted(error: Exception, answered: bool, timed_out: bool) -> None:
    with pytest.raises(RequestOutcomeUnknown) as info:
        exchange(TRIGGER).failed(error)  # type: ignore[arg-type]
    assert (info.value.server_answered, info.value.timed_out) == (answered, timed_out)
    with pytest.raises(RequestOutcomeUnknown) as answered_badly:
        exchange(TRIGGER).answered(response(500, text="<html>oops</html>"), 0.0)
    assert answered_badly.value.server_answered


def test_a_trigger_is_resent_when_it_surely_did_not_act() -> None:
    assert isinstance(exchange(TRIGGER).failed(httpx.ConnectError("refused")), Retry)
    assert isinstance(exchange(TRIGGER).answered(response(429), 0.0), Retry)


def test_a_just_created_run_may_be_404_a_few_times() -> None:
    ex = exchange(Request("GET", READ.path, not_found_retries=2))
    assert isinstance(ex.answered(response(404, {}), 0.0), Retry)
    assert isinstance(ex.answered(response(404, {}), 0.0), Retry)
    with pytest.raises(DbtCloudNotFoundError):
        ex.answered(response(404, {}), 0.0)


@pytest.mark.parametrize(
    ("code", "error"), [(400, DbtCloudValidationError), (401, DbtCloudAuthError), (404, DbtCloudNotFoundError)]
)
def test_client_errors_fail_at_once_and_are_masked(code: int, error: type[Exception]) -> None:
    body = {"status": {"user_message": "token s3cret rejected"}, "data": {"cause": "s3cret"} if code == 400 else None}
    with pytest.raises(error) as info:
        exchange().answered(response(code, body), 0.0)
    assert "s3cret" not in str(info.value) and "***" in str(info.value)


def test_success_is_the_envelope_or_the_raw_response() -> None:
    assert exchange().answered(response(200, ENVELOPE), 0.0) == Done(ENVELOPE)
    raw = response(200, text="PAR1")
    assert exchange(Request("GET", "/x/", raw=True)).answered(raw, 0.0) == Done(raw)


def test_pager_stops_at_total_count_short_page_or_max_items() -> None:
    pager = Pager({"order_by": "id"}, page_size=2)
    assert pager.next_params() == {"order_by": "id", "limit": 2, "offset": 0}
    page = {"data": [{"id": 1}, {"id": 2}], "extra": {"pagination": {"total_count": 3}}}
    assert [i["id"] for i in pager.take(page)] == [1, 2]
    assert pager.next_params() == {"order_by": "id", "limit": 2, "offset": 2}
    pager.take({"data": [{"id": 3}], "extra": {"pagination": {"total_count": 3}}})
    assert pager.next_params() is None
    limited = Pager(None, max_items=1)
    assert limited.next_params() == {"limit": 1, "offset": 0}
    assert len(limited.take({"data": [{"id": 1}]})) == 1 and limited.next_params() is None
