"""Every fault knob of the emulator, exercised over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import pytest

from dbt_kickoff_emulator import DbtCloudEmulator, FakeClock, RunScript

TOKEN = "dbtc_faults-test-secret-0003"
JOB = 70403103900300


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def emu(clock: FakeClock) -> Iterator[DbtCloudEmulator]:
    with DbtCloudEmulator(clock) as emulator:
        emulator.add_account(1, "Acme")
        emulator.add_token(TOKEN, account_ids=[1])
        emulator.add_job(1, JOB, "Daily build")
        yield emulator
        assert emulator.internal_errors == []


@pytest.fixture
def api(emu: DbtCloudEmulator) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Token {TOKEN}"}
    with httpx.Client(base_url=f"{emu.base_url}/api/v2/accounts/1", headers=headers, timeout=5) as client:
        yield client


def trigger(api: httpx.Client) -> dict[str, Any]:
    response = api.post(f"/jobs/{JOB}/run/", json={"cause": "faults"})
    assert response.status_code == 200, response.text
    return response.json()["data"]


# --- error statuses -------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408])
def test_error_status_n_times_then_normal(emu: DbtCloudEmulator, api: httpx.Client, status: int) -> None:
    rule = emu.faults.fail(status, times=2, route="list_runs")
    assert api.get("/jobs/").status_code == 200  # other routes are unaffected
    first, second, third = (api.get("/runs/") for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (status, status, 200)
    assert first.json()["status"]["code"] == status and first.json()["status"]["is_success"] is False
    assert rule.hits == 2


def test_after_and_method_narrow_a_rule(emu: DbtCloudEmulator, api: httpx.Client) -> None:
    emu.faults.fail(503, times=1, after=2, method="GET")
    assert [api.get("/").status_code for _ in range(4)] == [200, 200, 503, 200]
    emu.faults.fail(500, method="POST")
    assert api.get("/").status_code == 200
    assert api.post(f"/jobs/{JOB}/run/", json={"cause": "x"}).status_code == 500
    assert emu.run_ids() == []  # a "before" fault answers instead of the server: nothing happened


def test_fault_for_one_run_only(emu: DbtCloudEmulator, api: httpx.Client) -> None:
    first, second = trigger(api)["id"], trigger(api)["id"]
    emu.faults.fail(502, times=None, run_id=second)
    assert api.get(f"/runs/{first}/").status_code == 200
    assert api.get(f"/runs/{second}/").status_code == 502
    assert api.post(f"/runs/{second}/cancel/").status_code == 502
    assert api.get("/runs/").status_code == 200


def test_unknown_route_name_is_refused(emu: DbtCloudEmulator) -> None:
    with pytest.raises(ValueError, match="unknown route"):
        emu.faults.fail(500, route="get_runs")


def test_detail_body_and_unlimited_rule(emu: DbtCloudEmulator, api: httpx.Client) -> None:
    emu.faults.fail(500, response="detail", times=None, route="get_account")
    for _ in range(3):
        response = api.get("/")
        assert response.status_code == 500
        assert response.json() == {
            "detail": "There was a server error. Please contact support at support@getdbt.com."
        }
    emu.faults.clear()
    assert api.get("/").status_code == 200


def test_html_body(emu: DbtCloudEmulator, api: httpx.Client) -> None:
    emu.faults.html_error(502)
    response = api.get("/runs/")
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert response.text.lstrip().startswith("<!DOCTYPE html>")


def test_empty_200(emu: DbtCloudEmulator, api: httpx.Client) -> None:
    run_id = trigger(api)["id"]
    emu.faults.empty_success(route="get_run")
    response = api.get(f"/runs/{run_id}/")
    assert response.status_code == 200 and response.content == b""
    assert api.get(f"/runs/{run_id}/").json()["data"]["id"] == run_id


def test_connection_reset(emu: DbtCloudEmulator, api: httpx.Client) -> None:
    emu.faults.reset_connection(route="list_jobs")
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        api.get("/jobs/")
    assert api.get("/jobs/").status_code == 200
    assert emu.requests[0].status == 0


def test_slow_response_trips_a_client_timeout(emu: DbtCloudEmulator, api: httpx.Client) -> None:
    emu.faults.slow(0.5, route="get_account")
    with pytest.raises(httpx.ReadTimeout):
        api.get("/", timeout=0.1)
    assert api.get("/").status_code == 200


def test_slow_rule_without_limit_slows_every_request(emu: DbtCloudEmulator, api: httpx.Client) -> None:
    rule = emu.faults.slow(0.05, times=None, route="get_account")
    emu.faults.fail(503, route="get_account")
    assert [api.get("/").status_code for _ in range(3)] == [503, 200, 200]
    assert rule.hits == 3


def test_stop_cuts_a_slow_response_short(clock: FakeClock) -> None:
    emulator = DbtCloudEmulator(clock).start()
    emulator.add_account(1, "Acme")
    emulator.add_token(TOKEN, account_ids=[1])
    emulator.faults.slow(600)
    url = f"{emulator.base_url}/api/v2/accounts/1/"
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(url, headers={"Authorization": f"Token {TOKEN}"}, timeout=0.2)
    emulator.stop()  # returns although a handler is still "sleeping" for 600 s
    with pytest.raises(httpx.ConnectError):
        httpx.get(url, timeout=1)


# --- 429 ------------------------------------------------------------------------------------------


def test_429_with_retry_after_seconds(emu: DbtCloudEmulator, api: httpx.Client) -> None:
    emu.faults.fail(429, retry_after=7)
    response = api.get("/runs/")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    assert response.json()["status"]["code"] == 429


def test_429_with_retry_after_http_date(emu: DbtCloudEmulator, api: httpx.Client, clock: FakeClock) -> None:
    emu.faults.fail(429, retry_after=90, retry_after_format="http-date")
    response = api.get("/runs/")
    assert parsedate_to_datetime(response.headers["retry-after"]) == clock.now().replace(
        microsecond=0
    ) + timedelta(seconds=90)


def test_429_without_retry_after(emu: DbtCloudEmulator, api: httpx.Client) -> None:
    emu.faults.fail(429)
    response = api.get("/runs/")
    assert response.status_code == 429 and "retry-after" not in response.headers


def test_rate_limit_per_account_with_cooldown(
    emu: DbtCloudEmulator, api: httpx.Client, clock: FakeClock
) -> None:
    emu.faults.rate_limit(3, cooldown_seconds=300)
    assert [api.get("/jobs/").status_code for _ in range(3)] == [200, 200, 200]
    limited = api.get("/jobs/")
    assert limited.status_code == 429 and limited.headers["retry-after"] == "300"
    clock.advance(299)
    still = api.get("/jobs/")
    assert still.status_code == 429 and still.headers["retry-after"] == "1"
    clock.advance(1)
    assert api.get("/jobs/").status_code == 200


def test_rate_limit_window_slides_and_header_styles(
    emu: DbtCloudEmulator, api: httpx.Client, clock: FakeClock
) -> None:
    emu.faults.rate_limit(2, cooldown_seconds=60, retry_after=None)
    api.get("/jobs/")
    clock.advance(59)
    api.get("/jobs/")
    clock.advance(1)  # the first request left the one-minute window
    assert api.get("/jobs/").status_code == 200
    refused = api.get("/jobs/")
    assert refused.status_code == 429 and "retry-after" not in refused.headers
    clock.advance(60)
    emu.faults.rate_limit(1, retry_after="http-date")
    api.get("/jobs/")
    dated = api.get("/jobs/")
    assert parsedate_to_datetime(dated.headers["retry-after"]) == clock.now().replace(
        microsecond=0
    ) + timedelta(seconds=300)


# --- lost trigger responses, transient 404s, tokens -----------------------------------------------


@pytest.mark.parametrize("how", ["500", "html"])
def test_trigger_succeeds_but_the_response_is_lost(
    emu: DbtCloudEmulator, api: httpx.Client, how: Any
) -> None:
    emu.faults.lose_trigger_response(how)
    response = api.post(f"/jobs/{JOB}/run/", json={"cause": "lost"})
    assert response.status_code == 500
    if how == "html":
        assert response.headers["content-type"].startswith("text/html")
    else:
        assert "server error" in response.json()["detail"]
    [run_id] = emu.run_ids()
    newest = api.get("/runs/", params={"job_definition_id": JOB, "order_by": "-id", "limit": 1}).json()[
        "data"
    ]
    assert newest[0]["id"] == run_id and newest[0]["trigger"] is None
    assert trigger(api)["id"] == run_id + 1  # the fault fired once


def test_trigger_succeeds_but_the_connection_drops(emu: DbtCloudEmulator, api: httpx.Client) -> None:
    emu.faults.lose_trigger_response("reset")
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        api.post(f"/jobs/{JOB}/run/", json={"cause": "dropped"})
    assert len(emu.run_ids()) == 1


def test_lost_response_fault_waits_for_a_successful_trigger(emu: DbtCloudEmulator, api: httpx.Client) -> None:
    rule = emu.faults.lose_trigger_response()
    assert api.post(f"/jobs/{JOB}/run/", json={}).status_code == 400
    assert rule.hits == 0
    assert api.post(f"/jobs/{JOB}/run/", json={"cause": "x"}).status_code == 500
    assert rule.hits == 1


def test_transient_404_for_the_first_gets_of_a_new_run(emu: DbtCloudEmulator, api: httpx.Client) -> None:
    emu.faults.new_run_404s = 2
    run_id = trigger(api)["id"]
    first, second = api.get(f"/runs/{run_id}/"), api.get(f"/runs/{run_id}/")
    assert (first.status_code, second.status_code) == (404, 404)
    assert first.json()["status"]["user_message"].startswith("The requested resource was not found")
    fetched = api.get(f"/runs/{run_id}/").json()["data"]
    assert fetched["status"] == 1  # the 404s did not count as polls
    assert api.get(f"/runs/{run_id}/").json()["data"]["status"] == 2


def test_token_revoked_after_n_polls(emu: DbtCloudEmulator, api: httpx.Client) -> None:
    emu.default_script = RunScript(queued_polls=100)
    run_id = trigger(api)["id"]
    emu.faults.revoke_token_after(TOKEN, 3)
    assert [api.get(f"/runs/{run_id}/").status_code for _ in range(4)] == [200, 200, 200, 401]
    assert api.get("/jobs/").json()["status"]["user_message"] == "Invalid token."
    emu.add_token("dbtc_other", account_ids=[1])
    assert (
        httpx.get(
            f"{emu.base_url}/api/v2/accounts/1/", headers={"Authorization": "Token dbtc_other"}
        ).status_code
        == 200
    )


def test_host_mismatch_rejects_every_token(emu: DbtCloudEmulator, api: httpx.Client) -> None:
    emu.faults.host_mismatch = True
    response = api.get("/")
    assert response.status_code == 401
    assert response.json()["status"]["user_message"] == "Invalid token."
    emu.faults.host_mismatch = False
    assert api.get("/").status_code == 200


def test_faults_are_recorded_with_their_status(emu: DbtCloudEmulator, api: httpx.Client) -> None:
    emu.faults.fail(503, route="list_runs")
    api.get("/runs/")
    api.get("/runs/")
    assert [r.status for r in emu.requests] == [503, 200]
    assert emu.route_counts == {"list_runs": 2}


def test_artifact_redirect_to_another_host(emu: DbtCloudEmulator, api: httpx.Client) -> None:
    emu.default_script = RunScript(queued_polls=0, starting_polls=0, running_polls=0)
    run_id = trigger(api)["id"]
    direct = api.get(f"/runs/{run_id}/artifacts/run_results.json").content
    emu.faults.artifact_redirect_host = "localhost"
    redirected = api.get(f"/runs/{run_id}/artifacts/run_results.json")
    assert redirected.status_code == 302
    assert redirected.headers["location"].startswith(f"http://localhost:{emu.port}/storage/runs/{run_id}/")
    followed = api.get(f"/runs/{run_id}/artifacts/run_results.json", follow_redirects=True)
    assert followed.status_code == 200 and followed.content == direct
    storage = emu.requests[-1]
    assert storage.route == "storage_artifact"
    assert "Authorization" not in storage.headers  # httpx drops it when the redirect leaves the origin
    assert httpx.get(redirected.headers["location"].replace("run_results", "nothing")).status_code == 404
