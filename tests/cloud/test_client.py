"""The HTTP client against the real emulator: base URLs, auth, retries, error shapes, paging, secrecy."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from dbt_kickoff.cloud import (
    DbtCloudAPIError,
    DbtCloudAuthError,
    DbtCloudClient,
    DbtCloudCredentials,
    DbtCloudNotFoundError,
    DbtCloudPermissionError,
    DbtCloudUnavailableError,
    DbtCloudValidationError,
    RetryPolicy,
    normalize_base_url,
    resolve_credentials,
)
from dbt_kickoff.cloud.client import RequestOutcomeUnknown, parse_retry_after
from dbt_kickoff.errors import ConfigurationError, KickoffError
from dbt_kickoff_emulator import DbtCloudEmulator, FakeClock
from tests.cloud.conftest import ACCOUNT, JOB, TOKEN, assert_no_token


@pytest.fixture
def client(make_client: Callable[..., Any], creds: dict[str, Any]) -> Any:
    """The sync client, or the async one seen as sync (both flavors run every test that uses it)."""
    return make_client(creds, timeout=5)


def _elapsed(clock: FakeClock, before: Any) -> float:
    return (clock.now() - before).total_seconds()


# -- base URLs --


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("cloud.getdbt.com", "https://cloud.getdbt.com"),
        ("https://cloud.getdbt.com/", "https://cloud.getdbt.com"),
        ("https://cloud.getdbt.com/api", "https://cloud.getdbt.com"),
        ("https://cloud.getdbt.com/api/v2", "https://cloud.getdbt.com"),
        ("https://cloud.getdbt.com/api/v2/accounts/1/", "https://cloud.getdbt.com"),
        ("ab123.us1.dbt.com", "https://ab123.us1.dbt.com"),
        ("https://AB123.eu1.dbt.com/deploy/1/projects/2/runs/3/", "https://ab123.eu1.dbt.com"),
        ("emea.dbt.com", "https://emea.dbt.com"),
        ("emea", "https://emea.dbt.com"),
        ("au", "https://au.dbt.com"),
        ("http://127.0.0.1:8765", "http://127.0.0.1:8765"),
        ("https://proxy.example.com/dbt/api/v2/", "https://proxy.example.com/dbt"),
    ],
)
def test_base_url_forms_normalise_to_the_access_url(raw: str, expected: str) -> None:
    assert normalize_base_url(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", "ftp://cloud.getdbt.com", "https://user:pw@cloud.getdbt.com"])
def test_bad_base_url_is_a_configuration_error(raw: str) -> None:
    with pytest.raises(ConfigurationError):
        normalize_base_url(raw)


@pytest.mark.parametrize("base", ["{url}", "{url}/", "{url}/api", "{url}/api/v2/"])
def test_every_base_form_reaches_the_same_api(emulator: DbtCloudEmulator, creds: dict, base: str) -> None:
    creds = {**creds, "base_url": base.format(url=emulator.base_url)}
    with DbtCloudClient(resolve_credentials(creds)) as c:
        assert c.get_job(JOB)["id"] == JOB
    assert emulator.requests[-1].path == f"/api/v2/accounts/{ACCOUNT}/jobs/{JOB}/"


# -- what goes on the wire --


def test_requests_carry_token_auth_trailing_slash_and_comma_separated_include_related(
    emulator: DbtCloudEmulator, client: DbtCloudClient
) -> None:
    run = client.trigger_run(JOB, {"cause": "wire test"})
    client.get_run(run["id"], ("run_steps", "trigger", "job"))
    client.list_runs(JOB, order_by="-id", limit=5)
    client.cancel_run(run["id"])
    recorded = emulator.requests
    assert [r.method for r in recorded] == ["POST", "GET", "GET", "POST"]
    for r in recorded:
        assert r.path.endswith("/")
        assert r.headers.get("Authorization", r.headers.get("authorization")) == "Token ***"
        assert not r.token_in_url_or_body
    assert recorded[1].query["include_related"] == ["run_steps,trigger,job"]
    assert recorded[2].query["order_by"] == ["-id"]
    assert int(recorded[2].query["limit"][0]) <= 100
    assert client.timeout == 5  # every request is bounded


def test_a_slow_answer_hits_the_request_timeout_and_is_retried(
    emulator: DbtCloudEmulator, creds: dict, make_client: Callable[..., Any]
) -> None:
    emulator.faults.slow(2.0, times=1, route="get_job")
    assert make_client(creds, timeout=0.3).get_job(JOB)["id"] == JOB
    assert emulator.route_counts["get_job"] == 2


# -- retries --


def test_429_honours_retry_after_seconds(
    emulator: DbtCloudEmulator, client: DbtCloudClient, fake_clock
) -> None:
    emulator.faults.fail(429, times=2, route="get_job", retry_after=40)
    before = fake_clock.now()
    assert client.get_job(JOB)["id"] == JOB
    assert emulator.route_counts["get_job"] == 3
    assert _elapsed(fake_clock, before) == pytest.approx(80, abs=1)


def test_429_honours_retry_after_http_date(
    emulator: DbtCloudEmulator, client: DbtCloudClient, fake_clock
) -> None:
    emulator.faults.fail(429, times=1, route="get_job", retry_after=120, retry_after_format="http-date")
    before = fake_clock.now()
    client.get_job(JOB)
    assert _elapsed(fake_clock, before) == pytest.approx(120, abs=2)


def test_429_without_retry_after_backs_off_exponentially(
    emulator: DbtCloudEmulator, creds: dict, fake_clock: FakeClock, make_client: Callable[..., Any]
) -> None:
    emulator.faults.fail(429, times=3, route="get_job")
    policy = RetryPolicy(initial_backoff=2, jitter=0)
    before = fake_clock.now()
    make_client(creds, retry=policy).get_job(JOB)
    assert _elapsed(fake_clock, before) == pytest.approx(2 + 4 + 8)


def test_rate_limit_cooldown_is_waited_out(
    emulator: DbtCloudEmulator, client: DbtCloudClient, fake_clock
) -> None:
    emulator.faults.rate_limit(3, cooldown_seconds=300)
    before = fake_clock.now()
    for _ in range(5):
        client.get_job(JOB)
    statuses = [r.status for r in emulator.requests]
    assert statuses.count(429) == 1 and statuses.count(200) == 5
    assert _elapsed(fake_clock, before) == pytest.approx(300, abs=1)


@pytest.mark.parametrize(
    ("status", "response"),
    [
        (500, "envelope"),
        (500, "detail"),
        (500, "html"),
        (502, "html"),
        (503, "envelope"),
        (504, "html"),
        (408, "envelope"),
        (200, "empty"),
        (0, "reset"),
    ],
)
def test_transient_failures_of_reads_are_retried(
    emulator: DbtCloudEmulator, client: DbtCloudClient, status: int, response: str
) -> None:
    emulator.faults.fail(status, response=response, times=2, route="get_job")  # type: ignore[arg-type]
    assert client.get_job(JOB)["id"] == JOB
    assert emulator.route_counts["get_job"] == 3


def test_retries_are_bounded(emulator: DbtCloudEmulator, creds: dict, make_client: Callable[..., Any]) -> None:
    emulator.faults.fail(503, response="html", times=None, route="get_job")
    c = make_client(creds, retry=RetryPolicy(max_attempts=4))
    with pytest.raises(DbtCloudUnavailableError, match="gave up after 4 attempts") as info:
        c.get_job(JOB)
    assert info.value.status_code == 503
    assert "text/html" in str(info.value)
    assert emulator.route_counts["get_job"] == 4


def test_connection_refused_is_retried_then_reported(creds: dict, make_client: Callable[..., Any]) -> None:
    creds = {**creds, "base_url": "http://127.0.0.1:9"}  # discard port: nothing listens
    c = make_client(creds, retry=RetryPolicy(max_attempts=3))
    with pytest.raises(DbtCloudUnavailableError, match="could not connect") as info:
        c.get_job(JOB)
    assert_no_token(info.value)


@pytest.mark.parametrize(
    ("status", "response"), [(500, "detail"), (502, "html"), (0, "reset"), (200, "empty")]
)
def test_a_trigger_is_never_resent_blindly(
    emulator: DbtCloudEmulator, client: DbtCloudClient, status: int, response: str
) -> None:
    emulator.faults.fail(status, response=response, times=1, route="trigger")  # type: ignore[arg-type]
    with pytest.raises(RequestOutcomeUnknown) as info:
        client.trigger_run(JOB, {"cause": "x"})
    assert emulator.route_counts["trigger"] == 1
    assert info.value.server_answered is (status != 0)


def test_a_rate_limited_trigger_is_retried(emulator: DbtCloudEmulator, client: DbtCloudClient) -> None:
    emulator.faults.fail(429, times=2, route="trigger", retry_after=5)
    client.trigger_run(JOB, {"cause": "x"})
    assert emulator.route_counts["trigger"] == 3
    assert len(emulator.run_ids(JOB)) == 1


def test_a_just_created_run_may_answer_404_for_a_moment(
    emulator: DbtCloudEmulator, client: DbtCloudClient
) -> None:
    emulator.faults.new_run_404s = 2
    run = client.trigger_run(JOB, {"cause": "x"})
    with pytest.raises(DbtCloudNotFoundError):
        client.get_run(run["id"])  # without tolerance a 404 fails fast
    assert client.get_run(run["id"], not_found_retries=3)["id"] == run["id"]


def test_retry_after_parsing() -> None:
    now = 1_800_000_000.0
    from datetime import datetime, timezone

    moment = datetime.fromtimestamp(now, timezone.utc) + timedelta(seconds=90)
    assert parse_retry_after("12", now) == 12
    assert parse_retry_after(format_datetime(moment, usegmt=True), now) == pytest.approx(90)
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


# -- errors fail fast --


def test_400_reports_user_message_and_field_errors(
    emulator: DbtCloudEmulator, client: DbtCloudClient
) -> None:
    with pytest.raises(DbtCloudValidationError) as info:
        client.post_json(client.api_path("jobs", JOB, "run"), {"cause": "", "threads_override": "many"})
    err = info.value
    assert err.status_code == 400
    assert "cause" in err.field_errors and "threads_override" in err.field_errors
    assert "cause" in str(err) and err.user_message and err.user_message.rstrip(".") in str(err)
    assert emulator.route_counts["trigger"] == 1


def test_400_for_a_malformed_filter(client: DbtCloudClient) -> None:
    with pytest.raises(DbtCloudValidationError) as info:
        client.get_json(client.api_path("runs"), {"status__in": "10,20"})
    assert "status__in" in info.value.field_errors


def test_401_names_the_host_in_use(emulator: DbtCloudEmulator, creds: dict, make_client: Callable[..., Any]) -> None:
    emulator.faults.host_mismatch = True
    with pytest.raises(DbtCloudAuthError) as info:
        make_client(creds).get_job(JOB)
    message = str(info.value)
    assert "Invalid token." in message
    assert emulator.base_url.split("://")[1] in message
    assert "base_url" in message
    assert emulator.route_counts["get_job"] == 1
    assert_no_token(info.value)


def test_401_for_an_unknown_token(emulator: DbtCloudEmulator, creds: dict) -> None:
    c = DbtCloudClient(resolve_credentials({**creds, "api_token": "dbtc_wrong"}))
    with c, pytest.raises(DbtCloudAuthError) as info:
        c.list_runs(JOB)
    assert info.value.status_code == 401


def test_403_from_the_ip_allowlist(emulator: DbtCloudEmulator, creds: dict) -> None:
    emulator.add_token("dbtc_denied-token", account_ids=[ACCOUNT], ip_denied=True)
    c = DbtCloudClient(resolve_credentials({**creds, "api_token": "dbtc_denied-token"}))
    with c, pytest.raises(DbtCloudPermissionError, match="allowlist") as info:
        c.get_job(JOB)
    assert info.value.status_code == 403
    assert "dbtc_denied-token" not in str(info.value)


def test_404_fails_fast_and_hints_at_permissions(emulator: DbtCloudEmulator, client: DbtCloudClient) -> None:
    with pytest.raises(DbtCloudNotFoundError, match="permission") as info:
        client.get_job(999)
    assert info.value.status_code == 404
    assert emulator.route_counts["get_job"] == 1


def test_detail_error_bodies_are_reported(emulator: DbtCloudEmulator, client: DbtCloudClient) -> None:
    # A path without its trailing slash: the legacy 301 turns the POST into a GET -> 405 {"detail": ...}.
    emulator.faults.legacy_redirects = True
    with pytest.raises(DbtCloudAPIError) as info:
        client.post_json(f"/api/v2/accounts/{ACCOUNT}/jobs/{JOB}/run", {"cause": "x"})
    assert info.value.status_code == 405 and "not allowed" in str(info.value)
    assert emulator.run_ids(JOB) == []


def test_a_308_keeps_the_method(emulator: DbtCloudEmulator, client: DbtCloudClient) -> None:
    run = client.post_json(f"/api/v2/accounts/{ACCOUNT}/jobs/{JOB}/run", {"cause": "x"})["data"]
    assert emulator.run_ids(JOB) == [run["id"]]


def test_every_api_error_is_a_kickoff_error(client: DbtCloudClient) -> None:
    with pytest.raises(KickoffError):
        client.get_run(123)


# -- pagination --


def test_pagination_walks_every_page_with_limit_at_most_100(
    emulator: DbtCloudEmulator, client: DbtCloudClient
) -> None:
    for n in range(7):
        client.trigger_run(JOB, {"cause": f"run {n}"})
    emulator.clear_requests()
    runs = list(client.paginate(client.api_path("runs"), {"job_definition_id": JOB}, page_size=3))
    assert [r["id"] for r in runs] == emulator.run_ids(JOB)
    offsets = [int(r.query["offset"][0]) for r in emulator.requests]
    assert offsets == [0, 3, 6]
    emulator.clear_requests()
    assert len(client.list_runs(JOB)) == 7
    assert [int(r.query["limit"][0]) for r in emulator.requests] == [100]
    assert len(list(client.paginate(client.api_path("runs"), page_size=500))) == 7


def test_list_runs_newest_first_with_a_limit(emulator: DbtCloudEmulator, client: DbtCloudClient) -> None:
    for n in range(3):
        client.trigger_run(JOB, {"cause": f"run {n}"})
    newest = client.list_runs(JOB, order_by="-id", limit=1)
    assert [r["id"] for r in newest] == emulator.run_ids(JOB)[-1:]


# -- secrecy --


def test_token_never_in_reprs_errors_logs_or_urls(
    emulator: DbtCloudEmulator, creds: dict, make_client: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    credentials = resolve_credentials(creds)
    assert TOKEN not in repr(credentials) and TOKEN not in str(credentials)
    failures: list[BaseException] = []
    c = make_client(credentials, retry=RetryPolicy(max_attempts=2), timeout=0.3)
    assert TOKEN not in repr(c)
    emulator.faults.fail(500, response="html", times=None, route="get_job")
    emulator.faults.reset_connection(times=None, route="trigger")
    emulator.faults.slow(2.0, times=None, route="list_runs")
    for call in (
        lambda: c.get_job(JOB),
        lambda: c.trigger_run(JOB, {"cause": "x"}),
        lambda: c.list_runs(JOB),
    ):
        with pytest.raises(KickoffError) as info:
            call()
        failures.append(info.value)
    emulator.faults.clear()
    emulator.faults.host_mismatch = True
    with pytest.raises(DbtCloudAuthError) as info:
        c.get_run(1)
    failures.append(info.value)
    for exc in failures:
        assert_no_token(exc)
    assert TOKEN not in caplog.text
    assert all(not r.token_in_url_or_body for r in emulator.requests)


def test_an_echoed_token_is_masked_in_errors(emulator: DbtCloudEmulator, creds: dict) -> None:
    # A 400 whose field error quotes the submitted value: the value here is the token itself.
    with DbtCloudClient(resolve_credentials(creds)) as c, pytest.raises(DbtCloudValidationError) as info:
        c.post_json(c.api_path("jobs", JOB, "run"), {"cause": "x", "threads_override": TOKEN})
    assert_no_token(info.value)
    assert all(TOKEN not in str(v) for v in info.value.field_errors.values())


# -- credentials --


def test_credentials_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DBT_CLOUD__API_TOKEN", TOKEN)
    monkeypatch.setenv("DBT_CLOUD__ACCOUNT_ID", "7")
    monkeypatch.setenv("DBT_CLOUD__JOB_ID", "42")
    monkeypatch.setenv("DBT_CLOUD__BASE_URL", "ab123.us1.dbt.com")
    got = resolve_credentials()
    assert (got.account_id, got.job_id, got.base_url) == (7, 42, "ab123.us1.dbt.com")
    assert got.api_token == TOKEN and TOKEN not in repr(got)


def test_credentials_from_an_object_like_dlts_configuration() -> None:
    class DltLike:
        api_token = TOKEN
        account_id = "7"
        job_id = None
        cause = "Triggered via API"
        git_sha = "abc123"

    got = resolve_credentials(DltLike())
    assert got.base_url == "https://cloud.getdbt.com"
    assert got.trigger_defaults == {"cause": "Triggered via API", "git_sha": "abc123"}


@pytest.mark.parametrize(
    ("source", "match"),
    [
        ({}, "DBT_CLOUD__API_TOKEN"),
        ({"DBT_CLOUD__API_TOKEN": "t"}, "DBT_CLOUD__ACCOUNT_ID"),
        ({"DBT_CLOUD__API_TOKEN": "t", "DBT_CLOUD__ACCOUNT_ID": "acme"}, "integer"),
        ({"DBT_CLOUD__API_TOKEN": "t", "DBT_CLOUD__ACCOUNT_ID": "1", "DBT_CLOUD__JOB_ID": "-4"}, "positive"),
    ],
)
def test_missing_or_bad_credentials_say_what_to_set(source: dict, match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        resolve_credentials(None, environ=source)


def test_credentials_object_is_passed_through() -> None:
    creds = DbtCloudCredentials(api_token=TOKEN, account_id=1)
    assert resolve_credentials(creds) is creds
