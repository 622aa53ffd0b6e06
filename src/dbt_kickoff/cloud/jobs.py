"""Finding a job by project, environment and job name (v3 lists for projects and environments, v2 for jobs).

Names match exactly (dbt Cloud's ``name__icontains`` filter narrows the lists first); none or several
matches raise :class:`~dbt_kickoff.cloud.errors.DbtCloudLookupError` naming the candidates.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dbt_kickoff.cloud.errors import DbtCloudLookupError
from dbt_kickoff.cloud.flows import Flow, call
from dbt_kickoff.errors import ConfigurationError


def find_job_flow(project_name: str, environment_name: str, job_name: str) -> Flow[dict[str, Any]]:
    """The job named ``job_name`` in the environment ``environment_name`` of the project ``project_name``."""
    names = {"project_name": project_name, "environment_name": environment_name, "job_name": job_name}
    for option, value in names.items():
        if not isinstance(value, str) or not value.strip():
            raise ConfigurationError(f"{option} must be a non-empty string, got {value!r}")
    projects = yield call("list_projects", name__icontains=project_name)
    project = _one("project", project_name, projects, "in this account")
    environments = yield call("list_environments", int(project["id"]), name__icontains=environment_name)
    environment = _one("environment", environment_name, environments, f"in project {project_name!r}")
    jobs = yield call(
        "list_jobs",
        project_id=int(project["id"]),
        environment_id=int(environment["id"]),
        name__icontains=job_name,
    )
    return _one("job", job_name, jobs, f"in environment {environment_name!r} of project {project_name!r}")


def _one(kind: str, name: str, found: list[Mapping[str, Any]], where: str) -> dict[str, Any]:
    exact = [item for item in found if item.get("name") == name]
    if len(exact) == 1:
        return dict(exact[0])
    candidates = sorted({str(item.get("name")) for item in found})
    if exact:
        ids = ", ".join(str(item.get("id")) for item in exact)
        raise DbtCloudLookupError(
            f"{len(exact)} dbt Cloud {kind}s are named {name!r} {where} (ids {ids}): rename one, or use the id",
            kind=kind,
            name=name,
            candidates=candidates,
        )
    hint = f"; names containing it: {', '.join(repr(c) for c in candidates)}" if candidates else ""
    raise DbtCloudLookupError(
        f"no dbt Cloud {kind} named {name!r} {where} (names match exactly, case included){hint}",
        kind=kind,
        name=name,
        candidates=candidates,
    )
