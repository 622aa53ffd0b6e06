"""Wire rules of the emulator (DBT_CLOUD_API.md §2-§7), driven over real HTTP with httpx."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from dbt_kickoff_emulator import DbtCloudEmulator, FakeClock

TOKEN = "dbtc_wire-test-secret-0001"
JOB = 70403103900123
NOT_FOUND = "The requested resource was not found. Please check that you have the proper permissions."


@pytest.fixture
def emu() -> Iterator[DbtCloudEmulator]:
    with DbtCloudEmulator(FakeClock()) as emulator:
        emulator.add_account(1, "Acme")
        emulator.add_token(TOKEN, account_ids=[1])
        emulator.add_job(1, JOB, "Daily build")
        yield emulator


@pytest.fixture
def api(emu: DbtCloudEmulator) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Token {TOKEN}", "Accept": "application/json"}
    with httpx.Client(base_url=f"{emu.base_url}/api/v2/accounts/1", headers=headers, timeout=5) as client:
        yield client


def trigger(api: httpx.Client, job: int = JOB, **fields: Any) -> dict[str, Any]:
    response = api.post(f"/jobs/{job}/run/", json={"cause": "test", **fields})
    assert response.status_code == 200, response.text
    return response.json()["data"]


# --- authentication -------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["Token", "Bearer", "token", "BEARER"])
def test_token_and_bearer_schemes_are_accepted_case_insensitively(emu: DbtCloudEmulator, scheme: str) -> None:
    response = httpx.get(f"{emu.base_url}/api/v2/accounts/1/", headers={"Authorization": f"{scheme} {TOKEN}"})
    assert response.status_code == 200
    assert response.json()["data"]["id"] == 1


@pytest.mark.parametrize("header", [None, TOKEN, f"Basic {TOKEN}", "Token wrong", "Token"])
def test_bad_authorization_gets_the_401_envelope(emu: DbtCloudEmulator, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    response = httpx.get(f"{emu.base_url}/api/v2/accounts/1/jobs/", headers=headers)
    assert response.status_code == 401
    assert response.json() == {
        "status": {
            "code": 401,
            "is_success": False,
            "user_message": "Invalid token.",
            "developer_message": None,
        },
        "data": None,
    }


def test_ip_denied_token_gets_the_403_body(emu: DbtCloudEmulator) -> None:
    emu.add_token("dbtc_denied", account_ids=[1], ip_denied=True)
    response = httpx.get(
        f"{emu.base_url}/api/v2/accounts/1/jobs/", headers={"Authorization": "Token dbtc_denied"}
    )
    assert response.status_code == 403
    body = response.json()
    assert body["status"] == {
        "code": 403,
        "is_success": False,
        "user_message": "Forbidden: Access denied",
        "developer_message": None,
    }
    assert body["data"] == {
        "account_id": 1,
        "user_id": None,
        "is_service_token": True,
        "account_access_denied": True,
    }


def test_pat_sees_only_its_account_and_other_accounts_are_404(emu: DbtCloudEmulator) -> None:
    emu.add_account(2, "Other")
    emu.add_token("dbtu_pat", account_ids=[2], kind="pat")
    headers = {"Authorization": "Bearer dbtu_pat"}
    listed = httpx.get(f"{emu.base_url}/api/v2/accounts/", headers=headers).json()["data"]
    assert [a["id"] for a in listed] == [2]
    response = httpx.get(f"{emu.base_url}/api/v2/accounts/1/jobs/{JOB}/", headers=headers)
    assert response.status_code == 404
    assert response.json()["status"]["user_message"] == NOT_FOUND


def test_token_without_read_permission_sees_nothing(emu: DbtCloudEmulator) -> None:
    emu.add_token("dbtc_blind", account_ids=[1], can_read=False)
    response = httpx.get(
        f"{emu.base_url}/api/v2/accounts/1/jobs/{JOB}/", headers={"Authorization": "Token dbtc_blind"}
    )
    assert response.status_code == 404


def test_token_without_trigger_permission_cannot_trigger(emu: DbtCloudEmulator) -> None:
    emu.add_token("dbtc_viewer", account_ids=[1], can_trigger=False)
    response = httpx.post(
        f"{emu.base_url}/api/v2/accounts/1/jobs/{JOB}/run/",
        json={"cause": "x"},
        headers={"Authorization": "Token dbtc_viewer"},
    )
    assert response.status_code == 403
    assert emu.run_ids() == []


def test_revoked_token_is_rejected(emu: DbtCloudEmulator, api: httpx.Client) -> None:
    assert api.get("/").status_code == 200
    emu.revoke_token(TOKEN)
    assert api.get("/").status_code == 401


# --- envelopes, jobs, pagination ------------------------------------------------------------------


def test_success_envelope_and_account_object(api: httpx.Client) -> None:
    body = api.get("/").json()
    assert body["status"] == {
        "code": 200,
        "is_success": True,
        "user_message": "Success!",
        "developer_message": "",
    }
    assert body["data"]["run_slots"] == 5
    assert body["data"]["run_duration_limit_seconds"] == 86400
    assert "extra" not in body


def test_job_object_fields_and_t_timestamps(api: httpx.Client) -> None:
    job = api.get(f"/jobs/{JOB}/").json()["data"]
    assert job["id"] == JOB
    assert job["execute_steps"] == ["dbt build"]
    assert job["execution"] == {"timeout_seconds": 0}
    assert job["settings"] == {"threads": 4, "target_name": "default"}
    assert job["state"] == 1 and job["job_type"] == "scheduled"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00", job["created_at"])
    assert set(job["triggers"]) == {
        "github_webhook",
        "schedule",
        "git_provider_webhook",
        "on_merge",
        "custom_branch_only",
    }


def test_jobs_list_defaults_to_active_and_echoes_filters(emu: DbtCloudEmulator, api: httpx.Client) -> None:
    emu.add_job(1, JOB + 1, "Old job", state=2)
    emu.add_job(1, JOB + 2, "Hourly refresh", project_id=7)
    body = api.get("/jobs/").json()
    assert [j["id"] for j in body["data"]] == [JOB, JOB + 2]
    assert body["extra"] == {
        "filters": {"limit": 100, "offset": 0, "state": "active", "account_id": 1},
        "order_by": "id",
        "pagination": {"count": 2, "total_count": 2},
    }
    deleted = api.get("/jobs/", params={"state": "deleted"}).json()["data"]
    assert [j["id"] for j in deleted] == [JOB + 1]
    body = api.get("/jobs/", params={"project_id": 7, "name__icontains": "hour"}).json()
    assert [j["id"] for j in body["data"]] == [JOB + 2]
    assert body["extra"]["filters"]["project_id"] == 7
    assert body["extra"]["filters"]["name__icontains"] == "hour"


def test_jobs_pagination_and_ordering(emu: DbtCloudEmulator, api: httpx.Client) -> None:
    for offset in range(1, 5):
        emu.add_job(1, JOB + offset, f"Job {offset}")
    body = api.get("/jobs/", params={"limit": 2, "offset": 1, "order_by": "-id"}).json()
    assert [j["id"] for j in body["data"]] == [JOB + 3, JOB + 2]
    assert body["extra"]["pagination"] == {"count": 2, "total_count": 5}
    assert body["extra"]["filters"]["limit"] == 2 and body["extra"]["filters"]["offset"] == 1
    assert body["extra"]["order_by"] == "-id"


def test_job_include_related_most_recent_run(api: httpx.Client) -> None:
    run = trigger(api)
    job = api.get(f"/jobs/{JOB}/", params={"include_related": "most_recent_run,environment"}).json()["data"]
    assert job["most_recent_run"]["id"] == run["id"]
    assert job["environment"]["id"] == job["environment_id"]


def test_missing_job_run_and_step_are_404_envelopes(api: httpx.Client) -> None:
    for path in ("/jobs/1/", "/runs/1/", "/steps/1/", "/jobs/1/run/"):
        response = api.get(path) if not path.endswith("run/") else api.post(path, json={"cause": "x"})
        assert response.status_code == 404, path
        assert response.json()["status"] == {
            "code": 404,
            "is_success": False,
            "user_message": NOT_FOUND,
            "developer_message": "",
        }


def test_deleted_job_cannot_be_triggered(emu: DbtCloudEmulator, api: httpx.Client) -> None:
    emu.delete_job(JOB)
    assert api.post(f"/jobs/{JOB}/run/", json={"cause": "x"}).status_code == 404


# --- trailing slash -------------------------------------------------------------------------------


def test_missing_trailing_slash_redirects_with_308_keeping_method_and_body(
    emu: DbtCloudEmulator, api: httpx.Client
) -> None:
    response = api.post(f"/jobs/{JOB}/run", json={"cause": "no slash"})
    assert response.status_code == 308
    assert response.headers["location"] == f"/api/v2/accounts/1/jobs/{JOB}/run/"
    followed = api.post(f"/jobs/{JOB}/run", json={"cause": "no slash"}, follow_redirects=True)
    assert followed.status_code == 200
    assert followed.json()["data"]["trigger"]["cause"] == "no slash"
    assert api.get("/runs", params={"limit": 1}).headers["location"].endswith("/runs/?limit=1")


def test_legacy_301_turns_a_post_into_a_get_and_a_405(emu: DbtCloudEmulator, api: httpx.Client) -> None:
    emu.faults.legacy_redirects = True
    response = api.post(f"/jobs/{JOB}/run", json={"cause": "x"}, follow_redirects=True)
    assert response.status_code == 405
    assert response.json() == {"detail": 'Method "GET" not allowed.'}
    assert emu.run_ids() == []
    assert [r.method for r in emu.requests] == ["POST", "GET"]


def test_unknown_path_is_404_detail(api: httpx.Client) -> None:
    response = api.get("/nothing-here/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


# --- trigger validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({}, "cause", "This field is required."),
        ({"cause": ""}, "cause", "This field may not be blank."),
        ({"cause": None}, "cause", "This field may not be null."),
        ({"cause": 5}, "cause", "Not a valid string."),
        ({"cause": "x" * 256}, "cause", "Ensure this field has no more than 255 characters."),
        ({"cause": "x", "git_sha": ""}, "git_sha", "This field may not be blank."),
        ({"cause": "x", "schema_override": 3}, "schema_override", "Not a valid string."),
        ({"cause": "x", "threads_override": "4"}, "threads_override", "A valid integer is required."),
        (
            {"cause": "x", "github_pull_request_id": True},
            "github_pull_request_id",
            "A valid integer is required.",
        ),
        (
            {"cause": "x", "generate_docs_override": "yes"},
            "generate_docs_override",
            "Must be a valid boolean.",
        ),
        (
            {"cause": "x", "steps_override": "dbt run"},
            "steps_override",
            'Expected a list of items but got type "str".',
        ),
        (
            {"cause": "x", "steps_override": ["dbt run", ""]},
            "steps_override",
            "Item 1: This field may not be blank.",
        ),
    ],
)
def test_trigger_validation_errors(
    emu: DbtCloudEmulator, api: httpx.Client, body: dict[str, Any], field: str, message: str
) -> None:
    response = api.post(f"/jobs/{JOB}/run/", json=body)
    assert response.status_code == 400
    payload = response.json()
    assert payload["status"] == {
        "code": 400,
        "is_success": False,
        "user_message": "The request was invalid. Please double check the provided data and try again.",
        "developer_message": "",
    }
    assert payload["data"][field] == message
    assert emu.run_ids() == []


def test_trigger_without_body_is_a_400_and_bad_json_a_detail(api: httpx.Client) -> None:
    assert api.post(f"/jobs/{JOB}/run/").json()["data"] == {"cause": "This field is required."}
    response = api.post(
        f"/jobs/{JOB}/run/", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")


def test_trigger_accepts_nulls_ignores_unknown_keys_and_echoes_the_body(
    emu: DbtCloudEmulator, api: httpx.Client
) -> None:
    body = {
        "cause": "Triggered by dlt",
        "steps_override": None,
        "schema_override": None,
        "git_sha": "abcd1234",
        "threads_override": 8,
        "generate_docs_override": False,
        "favourite_colour": "blue",
    }
    response = api.post(f"/jobs/{JOB}/run/", json=body)
    assert response.status_code == 200
    run = response.json()["data"]
    assert run["status"] == 1 and run["status_humanized"] == "Queued"
    assert run["trigger"]["cause"] == "Triggered by dlt"
    assert run["trigger"]["git_sha"] == "abcd1234"
    assert run["trigger"]["threads_override"] == 8
    assert run["trigger"]["steps_override"] is None
    assert run["trigger"]["cause_category"] == "api"
    assert "favourite_colour" not in run["trigger"]
    assert run["job"]["id"] == JOB
    assert run["git_sha"] == "abcd1234"
    assert emu.trigger_body(run["id"]) == body
    assert emu.requests[-1].body == body


# --- run object -----------------------------------------------------------------------------------


def test_run_object_formats(emu: DbtCloudEmulator, api: httpx.Client) -> None:
    run = trigger(api)
    assert run["id"] > 2**32
    assert run["job_definition_id"] == run["job_id"] == JOB
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}\+00:00", run["created_at"])
    assert run["started_at"] is None and run["finished_at"] is None
    assert run["href"] == f"{emu.base_url}/deploy/1/projects/{run['project_id']}/runs/{run['id']}/"
    assert (
        run["in_progress"],
        run["is_complete"],
        run["is_success"],
        run["is_error"],
        run["is_cancelled"],
    ) == (
        True,
        False,
        False,
        False,
        False,
    )
    assert run["duration"] == "00:00:00"
    assert run["can_retry"] is False and run["retry_not_supported_reason"] == "RETRY_NOT_FAILED_RUN"


def test_durations_exceed_24_hours(emu: DbtCloudEmulator, api: httpx.Client) -> None:
    assert isinstance(emu.clock, FakeClock)
    emu.add_account(1, "Acme", run_slots=0)  # nothing can start: the run stays queued
    run = trigger(api)
    emu.clock.advance(86436)
    fetched = api.get(f"/runs/{run['id']}/").json()["data"]
    assert fetched["status"] == 1
    assert fetched["duration"] == "24:00:36"
    assert fetched["queued_duration"] == "24:00:36"
    assert fetched["run_duration"] == "00:00:00"


@pytest.mark.parametrize(
    "params",
    [
        {"include_related": "trigger,job,run_steps"},
        [("include_related", "trigger"), ("include_related", "job"), ("include_related", "run_steps")],
        {"include_related": "['trigger', 'job', 'run_steps']"},
        [("include_related[]", "trigger"), ("include_related[]", "job"), ("include_related[]", "run_steps")],
    ],
    ids=["comma", "repeated", "python-list", "brackets"],
)
def test_include_related_in_every_encoding(api: httpx.Client, params: Any) -> None:
    run = trigger(api)
    fetched = api.get(f"/runs/{run['id']}/", params=params).json()["data"]
    assert fetched["trigger"]["cause"] == "test"
    assert fetched["job"]["id"] == JOB
    assert isinstance(fetched["run_steps"], list)
    assert fetched["environment"] is None


def test_unrequested_related_objects_are_null_or_empty(api: httpx.Client) -> None:
    run = trigger(api)
    fetched = api.get(f"/runs/{run['id']}/").json()["data"]
    assert fetched["trigger"] is None and fetched["job"] is None and fetched["environment"] is None
    assert fetched["run_steps"] == []


# --- runs list ------------------------------------------------------------------------------------


def _ids(body: dict[str, Any]) -> list[int]:
    return [r["id"] for r in body["data"]]


def test_runs_list_filters_ordering_and_extra(emu: DbtCloudEmulator, api: httpx.Client) -> None:
    other = JOB + 50
    emu.add_job(1, other, "Other", job_type="ci")
    first, second, third = trigger(api)["id"], trigger(api, other)["id"], trigger(api)["id"]
    body = api.get("/runs/").json()
    assert _ids(body) == [first, second, third]
    assert body["extra"] == {
        "filters": {"limit": 100, "offset": 0, "state": "all", "account_id": 1},
        "order_by": "id",
        "pagination": {"count": 3, "total_count": 3},
    }
    body = api.get("/runs/", params={"job_definition_id": JOB, "order_by": "-id", "limit": 1}).json()
    assert _ids(body) == [third]
    assert body["extra"]["filters"] == {
        "limit": 1,
        "offset": 0,
        "state": "all",
        "account_id": 1,
        "job_definition_id": JOB,
    }
    assert body["extra"]["pagination"] == {"count": 1, "total_count": 2}
    assert _ids(api.get("/runs/", params={"order_by": "-created_at"}).json()) == [third, second, first]
    assert _ids(api.get("/runs/", params={"offset": 2}).json()) == [third]
    assert _ids(api.get("/runs/", params={"pk__in": f"[{first}, {third}]"}).json()) == [first, third]
    assert _ids(api.get("/runs/", params={"id__gt": first}).json()) == [second, third]


def test_runs_list_status_filters(emu: DbtCloudEmulator, api: httpx.Client) -> None:
    done = trigger(api)["id"]
    for _ in range(4):
        api.get(f"/runs/{done}/")
    emu.add_account(1, "Acme", run_slots=0)
    queued = trigger(api)["id"]
    assert _ids(api.get("/runs/", params={"status": 10}).json()) == [done]
    body = api.get("/runs/", params={"status__in": "[1,2,3]"}).json()
    assert _ids(body) == [queued]
    assert body["extra"]["filters"]["status__in"] == [1, 2, 3]
    assert _ids(api.get("/runs/", params={"status__in": "[10, 20]"}).json()) == [done]
    ordered = api.get("/runs/", params={"order_by": "finished_at"}).json()
    assert _ids(ordered) == [done, queued]
    assert _ids(api.get("/runs/", params={"order_by": "-finished_at"}).json()) == [queued, done]


@pytest.mark.parametrize("value", ["1,2", "[1,'x']", "[", "10", "[1.5]"])
def test_malformed_status_in_is_a_400(api: httpx.Client, value: str) -> None:
    response = api.get("/runs/", params={"status__in": value})
    assert response.status_code == 400
    assert response.json()["data"] == {"status__in": f"'{value}' is not valid under any of the given schemas"}


def test_finished_at_range_filter(emu: DbtCloudEmulator, api: httpx.Client) -> None:
    run = trigger(api)["id"]
    for _ in range(4):
        api.get(f"/runs/{run}/")
    finished = api.get(f"/runs/{run}/").json()["data"]["finished_at"]
    assert finished is not None
    inside = '["2026-01-01T00:00:00+00:00", "2026-12-31T00:00:00+00:00"]'
    outside = '["2025-01-01T00:00:00Z", "2025-12-31T00:00:00Z"]'
    assert _ids(api.get("/runs/", params={"finished_at__range": inside}).json()) == [run]
    assert _ids(api.get("/runs/", params={"finished_at__range": outside}).json()) == []
    assert api.get("/runs/", params={"finished_at__range": '["2026-01-01"]'}).status_code == 400


def test_limit_over_100_is_400_or_clamped(emu: DbtCloudEmulator, api: httpx.Client) -> None:
    response = api.get("/runs/", params={"limit": 101})
    assert response.status_code == 400
    assert response.json()["data"] == {"limit": "Ensure this value is less than or equal to 100."}
    assert api.get("/jobs/", params={"limit": 500}).status_code == 400
    emu.faults.limit_over_max = "clamp"
    body = api.get("/runs/", params={"limit": 500}).json()
    assert body["extra"]["filters"]["limit"] == 100


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": -1}, "offset"),
        ({"order_by": "name"}, "order_by"),
    ],
)
def test_bad_paging_and_ordering_are_400(api: httpx.Client, params: dict[str, Any], field: str) -> None:
    response = api.get("/runs/", params=params)
    assert response.status_code == 400
    assert field in response.json()["data"]


# --- recording ------------------------------------------------------------------------------------


def test_recording_masks_the_token_and_counts_routes(emu: DbtCloudEmulator, api: httpx.Client) -> None:
    run = trigger(api, steps_override=["dbt run"])
    api.get(f"/runs/{run['id']}/", params={"include_related": "trigger,run_steps"})
    api.get(f"/runs/{run['id']}/")
    recorded = emu.requests
    assert [r.route for r in recorded] == ["trigger", "get_run", "get_run"]
    assert recorded[0].method == "POST"
    assert recorded[0].body == {"cause": "test", "steps_override": ["dbt run"]}
    assert recorded[1].query == {"include_related": ["trigger,run_steps"]}
    assert recorded[1].headers["Authorization"] == "Token ***"
    assert all(TOKEN not in repr(r) for r in recorded)
    assert not any(r.token_in_url_or_body for r in recorded)
    assert [r.status for r in recorded] == [200, 200, 200]
    assert emu.route_counts == {"trigger": 1, "get_run": 2}
    emu.clear_requests()
    assert emu.requests == [] and emu.route_counts == {}


def test_recording_flags_a_token_sent_in_the_url(emu: DbtCloudEmulator, api: httpx.Client) -> None:
    api.get("/runs/", params={"token": TOKEN})
    entry = emu.requests[-1]
    assert entry.token_in_url_or_body
    assert entry.query == {"token": ["***"]}
    assert TOKEN not in repr(entry)


def test_emulator_repr_and_token_repr_hide_the_secret(emu: DbtCloudEmulator) -> None:
    token = emu.add_token("dbtc_hidden-secret", account_ids=[1])
    assert "dbtc_hidden-secret" not in repr(token)
    assert emu.base_url in repr(emu)


def test_chunked_request_body_is_read(emu: DbtCloudEmulator, api: httpx.Client) -> None:
    def body() -> Iterator[bytes]:
        yield b'{"cause": '
        yield b'"chunked"}'

    response = api.post(f"/jobs/{JOB}/run/", content=body(), headers={"Content-Type": "application/json"})
    assert emu.requests[-1].headers.get("Transfer-Encoding") == "chunked"
    assert response.status_code == 200
    assert response.json()["data"]["trigger"]["cause"] == "chunked"
    assert api.get("/").status_code == 200  # the connection is still in sync


RUN_FIELDS = [
    "id",
    "trigger_id",
    "account_id",
    "environment_id",
    "project_id",
    "job_definition_id",
    "job_id",
    "status",
    "status_humanized",
    "status_message",
    "dbt_version",
    "git_branch",
    "git_sha",
    "owner_thread_id",
    "executed_by_thread_id",
    "deferring_run_id",
    "artifacts_saved",
    "artifact_s3_path",
    "has_docs_generated",
    "has_sources_generated",
    "notifications_sent",
    "blocked_by",
    "created_at",
    "updated_at",
    "dequeued_at",
    "started_at",
    "finished_at",
    "last_checked_at",
    "last_heartbeat_at",
    "should_start_at",
    "trigger",
    "job",
    "environment",
    "run_steps",
    "deprecation",
    "in_progress",
    "is_complete",
    "is_success",
    "is_error",
    "is_cancelled",
    "is_running",
    "duration",
    "queued_duration",
    "run_duration",
    "duration_humanized",
    "queued_duration_humanized",
    "run_duration_humanized",
    "created_at_humanized",
    "finished_at_humanized",
    "retrying_run_id",
    "can_retry",
    "retry_not_supported_reason",
    "href",
    "used_repo_cache",
    "audit",
]
JOB_FIELDS = [
    "id",
    "account_id",
    "project_id",
    "environment_id",
    "name",
    "description",
    "dbt_version",
    "raw_dbt_version",
    "execute_steps",
    "settings",
    "execution",
    "generate_docs",
    "run_generate_sources",
    "triggers",
    "schedule",
    "state",
    "job_type",
    "deferring_job_definition_id",
    "deferring_environment_id",
    "is_deferrable",
    "run_failure_count",
    "lifecycle_webhooks",
    "job_completion_trigger_condition",
    "created_at",
    "updated_at",
    "cron_humanized",
    "next_run",
    "next_run_humanized",
    "deactivated",
]
STEP_FIELDS = [
    "id",
    "run_id",
    "account_id",
    "index",
    "name",
    "status",
    "status_humanized",
    "status_color",
    "logs",
    "truncated_debug_logs",
    "debug_logs",
    "log_path",
    "debug_log_path",
    "started_at",
    "finished_at",
    "created_at",
    "updated_at",
    "duration",
    "duration_humanized",
]


def test_run_job_and_step_objects_carry_every_documented_field(api: httpx.Client) -> None:
    run = trigger(api)
    for _ in range(4):
        fetched = api.get(f"/runs/{run['id']}/", params={"include_related": "run_steps,job,audit"}).json()[
            "data"
        ]
    assert fetched["status"] == 10
    assert set(RUN_FIELDS) <= set(fetched)
    assert set(JOB_FIELDS) <= set(fetched["job"])
    assert all(set(STEP_FIELDS) <= set(step) for step in fetched["run_steps"])
    assert fetched["deprecation"] == {"count": 0}
    assert fetched["is_running"] is None
    assert fetched["audit"]["trigger"]["actor"]["type"] == "service_token"


def test_v3_project_and_environment_lookups_by_name(emu: DbtCloudEmulator) -> None:
    emu.add_project(1, 501, "Marketing analytics")
    emu.add_environment(1, 501, 601, "Prod deploy")
    emu.add_environment(1, 501, 602, "Staging", deployment_type="staging")
    emu.add_environment(1, 501, 603, "Dev", deployment_type=None)
    headers = {"Authorization": f"Token {TOKEN}"}
    with httpx.Client(base_url=f"{emu.base_url}/api/v3/accounts/1", headers=headers) as v3:
        body = v3.get("/projects/", params={"name__icontains": "MARKET"}).json()
        assert [p["id"] for p in body["data"]] == [501]
        assert body["extra"]["filters"]["name__icontains"] == "MARKET"
        assert body["extra"]["pagination"] == {"count": 1, "total_count": 1}
        all_projects = v3.get("/projects/").json()["data"]
        assert {p["name"] for p in all_projects} == {"Marketing analytics", "Analytics"}  # the job's project
        environments = v3.get("/projects/501/environments/", params={"name__icontains": "prod"}).json()[
            "data"
        ]
        assert [(e["id"], e["type"], e["deployment_type"]) for e in environments] == [
            (601, "deployment", "production")
        ]
        dev = v3.get("/projects/501/environments/", params={"name__icontains": "dev"}).json()["data"]
        assert dev[0]["type"] == "development"
        assert v3.get("/projects/999/environments/").status_code == 404
    emu.add_job(1, JOB + 5, "Marketing", project_id=501, environment_id=602)
    job = httpx.get(
        f"{emu.base_url}/api/v2/accounts/1/jobs/{JOB + 5}/",
        params={"include_related": "environment"},
        headers=headers,
    ).json()["data"]
    assert job["environment"]["name"] == "Staging"
