"""Finding a job by project, environment and job name (v3 projects/environments, v2 jobs), both flavors."""

from __future__ import annotations

from typing import Any

import pytest

from dbt_kickoff.cloud import DbtCloudLookupError
from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff_emulator import DbtCloudEmulator
from tests.cloud.conftest import ACCOUNT

MARKETING, MARKETING_ANALYTICS = 502, 501
PROD, PROD_DEPLOY, OTHER_PROD = 601, 602, 603
DAILY, DAILY_FULL, DAILY_IN_DEPLOY, DAILY_ELSEWHERE = 9001, 9002, 9003, 9004


@pytest.fixture
def jobs(emulator: DbtCloudEmulator) -> DbtCloudEmulator:
    emulator.add_project(ACCOUNT, MARKETING_ANALYTICS, "Marketing analytics")
    emulator.add_project(ACCOUNT, MARKETING, "Marketing")
    emulator.add_environment(ACCOUNT, MARKETING, PROD, "Prod")
    emulator.add_environment(ACCOUNT, MARKETING, PROD_DEPLOY, "Prod deploy")
    emulator.add_environment(ACCOUNT, MARKETING_ANALYTICS, OTHER_PROD, "Prod")
    place = {"project_id": MARKETING, "environment_id": PROD}
    emulator.add_job(ACCOUNT, DAILY, "Daily build", **place)
    emulator.add_job(ACCOUNT, DAILY_FULL, "Daily build (full)", **place)
    emulator.add_job(ACCOUNT, DAILY_IN_DEPLOY, "Daily build", project_id=MARKETING, environment_id=PROD_DEPLOY)
    emulator.add_job(
        ACCOUNT, DAILY_ELSEWHERE, "Daily build", project_id=MARKETING_ANALYTICS, environment_id=OTHER_PROD
    )
    emulator.clear_requests()
    return emulator


def test_a_job_is_found_by_its_three_names(jobs: DbtCloudEmulator, cloud: Any) -> None:
    job = cloud.find_job(project_name="Marketing", environment_name="Prod", job_name="Daily build")
    assert (job["id"], job["project_id"], job["environment_id"]) == (DAILY, MARKETING, PROD)
    projects, environments, listed = jobs.requests
    assert projects.path == f"/api/v3/accounts/{ACCOUNT}/projects/"
    assert projects.query["name__icontains"] == ["Marketing"]
    assert environments.path == f"/api/v3/accounts/{ACCOUNT}/projects/{MARKETING}/environments/"
    assert listed.path == f"/api/v2/accounts/{ACCOUNT}/jobs/"
    assert (listed.query["project_id"], listed.query["environment_id"]) == ([str(MARKETING)], [str(PROD)])
    found = cloud.find_job(project_name="Marketing", environment_name="Prod deploy", job_name="Daily build")
    assert found["id"] == DAILY_IN_DEPLOY


@pytest.mark.parametrize(
    ("names", "kind", "said"),
    [
        (("Finance", "Prod", "Daily build"), "project", "no dbt Cloud project named 'Finance'"),
        (("marketing", "Prod", "Daily build"), "project", "'Marketing', 'Marketing analytics'"),
        (("Marketing", "Staging", "Daily build"), "environment", "in project 'Marketing'"),
        (("Marketing", "Prod", "Nightly"), "job", "no dbt Cloud job named 'Nightly'"),
        (("Marketing", "Prod", "Daily"), "job", "'Daily build', 'Daily build (full)'"),
    ],
)
def test_no_match_names_what_exists(
    jobs: DbtCloudEmulator, cloud: Any, names: tuple[str, str, str], kind: str, said: str
) -> None:
    project, environment, job = names
    with pytest.raises(DbtCloudLookupError) as info:
        cloud.find_job(project_name=project, environment_name=environment, job_name=job)
    assert info.value.kind == kind and said in str(info.value)
    assert info.value.exit_status == 2


def test_two_jobs_with_one_name_are_ambiguous(jobs: DbtCloudEmulator, cloud: Any) -> None:
    jobs.add_job(ACCOUNT, 9005, "Daily build", project_id=MARKETING, environment_id=PROD)
    with pytest.raises(DbtCloudLookupError, match="2 dbt Cloud jobs are named 'Daily build'") as info:
        cloud.find_job(project_name="Marketing", environment_name="Prod", job_name="Daily build")
    assert f"{DAILY}, 9005" in str(info.value)


def test_lookups_are_retried_like_every_read(jobs: DbtCloudEmulator, cloud: Any) -> None:
    jobs.faults.fail(503, response="html", route="list_projects")
    jobs.faults.fail(429, route="list_environments", retry_after=3)
    job = cloud.find_job(project_name="Marketing", environment_name="Prod", job_name="Daily build (full)")
    assert job["id"] == DAILY_FULL
    assert jobs.route_counts["list_projects"] == 2 and jobs.route_counts["list_environments"] == 2


@pytest.mark.parametrize("bad", ["", "   ", None])
def test_empty_names_fail_before_any_request(jobs: DbtCloudEmulator, cloud: Any, bad: Any) -> None:
    with pytest.raises(ConfigurationError, match="job_name"):
        cloud.find_job(project_name="Marketing", environment_name="Prod", job_name=bad)
    assert jobs.requests == []
