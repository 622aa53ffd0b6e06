"""URL patterns of the Admin API v2 and their handlers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from dbt_kickoff_emulator import handlers
from dbt_kickoff_emulator.handlers import Handler

_A = r"/api/v2/accounts/(?P<account_id>\d+)"
_V3 = r"/api/v3/accounts/(?P<account_id>\d+)"


@dataclass(frozen=True)
class Route:
    """A URL pattern with one (route name, handler) per HTTP method."""

    pattern: re.Pattern[str]
    methods: Mapping[str, tuple[str, Handler]]
    public: bool = False

    @property
    def name(self) -> str:
        return next(iter(self.methods.values()))[0]


def _route(pattern: str, **methods: tuple[str, Handler]) -> Route:
    return Route(re.compile(f"^{pattern}$"), methods)


ROUTES: tuple[Route, ...] = (
    _route("/api/v2/accounts/", GET=("list_accounts", handlers.list_accounts)),
    _route(f"{_A}/", GET=("get_account", handlers.get_account)),
    _route(f"{_A}/jobs/", GET=("list_jobs", handlers.list_jobs)),
    _route(f"{_A}/jobs/(?P<job_id>\\d+)/", GET=("get_job", handlers.get_job)),
    _route(f"{_A}/jobs/(?P<job_id>\\d+)/run/", POST=("trigger", handlers.trigger)),
    _route(f"{_A}/jobs/(?P<job_id>\\d+)/rerun/", POST=("rerun", handlers.rerun)),
    _route(f"{_A}/jobs/(?P<job_id>\\d+)/artifacts/(?P<path>.+)", GET=("job_artifact", handlers.job_artifact)),
    _route(f"{_A}/runs/", GET=("list_runs", handlers.list_runs)),
    _route(f"{_A}/runs/(?P<run_id>\\d+)/", GET=("get_run", handlers.get_run)),
    _route(f"{_A}/runs/(?P<run_id>\\d+)/cancel/", POST=("cancel", handlers.cancel)),
    _route(
        f"{_A}/runs/(?P<run_id>\\d+)/retry/",
        GET=("retry_info", handlers.retry_info),
        POST=("retry", handlers.retry),
    ),
    _route(f"{_A}/runs/(?P<run_id>\\d+)/artifacts/", GET=("list_artifacts", handlers.list_artifacts)),
    _route(f"{_A}/runs/(?P<run_id>\\d+)/artifacts/(?P<path>.+)", GET=("get_artifact", handlers.get_artifact)),
    _route(f"{_A}/steps/(?P<step_id>\\d+)/", GET=("get_step", handlers.get_step)),
    _route(f"{_V3}/projects/", GET=("list_projects", handlers.list_projects)),
    _route(
        f"{_V3}/projects/(?P<project_id>\\d+)/environments/",
        GET=("list_environments", handlers.list_environments),
    ),
    Route(
        re.compile(r"^/storage/runs/(?P<run_id>\d+)/steps/(?P<step>\d+)/(?P<path>.+)$"),
        {"GET": ("storage_artifact", handlers.storage_artifact)},
        public=True,
    ),
)


def resolve(path: str) -> tuple[Route, dict[str, str]] | None:
    """The route matching ``path`` and its parameters."""
    for route in ROUTES:
        match = route.pattern.match(path)
        if match:
            return route, match.groupdict()
    return None
