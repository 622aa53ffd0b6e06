"""The sync HTTP client of the dbt Cloud Administrative API: an I/O shell over :mod:`.policy`.

Only transport concerns live here; what a run is and how to wait for one is in :mod:`dbt_kickoff.cloud.runs`.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import httpx

from dbt_kickoff.cloud.clock import Clock
from dbt_kickoff.cloud.credentials import DbtCloudCredentials
from dbt_kickoff.cloud.endpoints import ClientBase, normalize_base_url
from dbt_kickoff.cloud.options import CLIENT_OPTIONS
from dbt_kickoff.cloud.policy import (
    MAX_PAGE_SIZE,
    Done,
    Pager,
    Request,
    RequestOutcomeUnknown,
    Retry,
    RetryPolicy,
    parse_retry_after,
)
from dbt_kickoff.validation import validated

__all__ = [
    "MAX_PAGE_SIZE",
    "DbtCloudClient",
    "RequestOutcomeUnknown",
    "RetryPolicy",
    "normalize_base_url",
    "parse_retry_after",
]


class DbtCloudClient(ClientBase):
    """A thin, retrying HTTP client for one dbt Cloud account (retry rules: :mod:`dbt_kickoff.cloud.policy`)."""

    @validated(CLIENT_OPTIONS)
    def __init__(
        self,
        credentials: DbtCloudCredentials,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        clock: Clock | None = None,
        transport: httpx.BaseTransport | None = None,
        rng: random.Random | None = None,
        secrets: Iterable[str] = (),
    ) -> None:
        super().__init__(credentials, timeout=timeout, retry=retry, clock=clock, rng=rng, secrets=secrets)
        self._http = httpx.Client(transport=transport, **self._http_options(credentials))

    @property
    def closed(self) -> bool:
        """True once the client's connections were closed."""
        return self._http.is_closed

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> DbtCloudClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- generic requests ------------------------------------------------------------------------------------

    def send(self, request: Request) -> Any:
        """Send ``request``, retrying as :class:`~dbt_kickoff.cloud.policy.Exchange` decides."""
        exchange = self._exchange(request)
        while True:
            try:
                response = self._http.request(request.method, request.path, **request.httpx_kwargs(),
                                              timeout=self._attempt_timeout())
            except httpx.HTTPError as exc:
                step: Retry | Done = exchange.failed(exc)
            else:
                step = exchange.answered(response, self.clock.time())
            if isinstance(step, Done):
                return step.value
            self._check_time_left(exchange, step)
            self._log_retry(exchange, step)
            self.clock.sleep(step.delay)

    def get_json(
        self, path: str, params: Mapping[str, Any] | None = None, *, not_found_retries: int = 0
    ) -> dict[str, Any]:
        """GET an enveloped JSON document (retried)."""
        return self.send(Request("GET", path, params, not_found_retries=not_found_retries))

    def post_json(
        self, path: str, body: Mapping[str, Any] | None = None, *, idempotent: bool = False
    ) -> dict[str, Any]:
        """POST and return the enveloped JSON answer; see :mod:`.policy` for what is retried."""
        return self.send(Request("POST", path, json_body=body, idempotent=idempotent))

    def get_bytes(self, path: str, params: Mapping[str, Any] | None = None) -> bytes:
        """GET a raw (not enveloped) document, e.g. an artifact (which may be JSON, SQL or parquet)."""
        return self.send(Request("GET", path, params, raw=True)).content

    def paginate(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        page_size: int = MAX_PAGE_SIZE,
        max_items: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Yield the items of a list endpoint page by page (``limit`` ≤ 100) until ``total_count`` or a short
        page."""
        pager = Pager(params, page_size, max_items)
        while (query := pager.next_params()) is not None:
            yield from pager.take(self.get_json(path, query))

    # -- endpoints -------------------------------------------------------------------------------------------

    def get_run(
        self, run_id: int, include_related: Sequence[str] = (), *, not_found_retries: int = 0
    ) -> dict[str, Any]:
        return self.send(self._get_run_request(run_id, include_related, not_found_retries))["data"]

    def list_runs(
        self,
        job_id: int | None = None,
        *,
        order_by: str = "id",
        status_in: Iterable[int] | None = None,
        id_gt: int | None = None,
        include_related: Sequence[str] = (),
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Runs of the account (or of ``job_id``), ``limit`` of them at most (all when ``None``)."""
        params = self._list_runs_params(job_id, order_by, status_in, id_gt, include_related)
        return list(self.paginate(self.api_path("runs"), params, max_items=limit))

    def get_job(self, job_id: int, include_related: Sequence[str] = ()) -> dict[str, Any]:
        return self.send(self._get_job_request(job_id, include_related))["data"]

    def list_jobs(self, **filters: Any) -> list[dict[str, Any]]:
        return list(self.paginate(self.api_path("jobs"), filters))

    def list_projects(self, **filters: Any) -> list[dict[str, Any]]:
        """v3 projects of the account (``name__icontains=`` filters by name)."""
        return list(self.paginate(self.api_v3_path("projects"), filters))

    def list_environments(self, project_id: int, **filters: Any) -> list[dict[str, Any]]:
        """v3 environments of a project (``name__icontains=`` filters by name)."""
        return list(self.paginate(self.api_v3_path("projects", project_id, "environments"), filters))

    def trigger_run(self, job_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST …/jobs/{job_id}/run/ once (plus safe retries); may raise :class:`RequestOutcomeUnknown`."""
        return self.send(self._trigger_request(job_id, body))["data"]

    def rerun_job(self, job_id: int) -> dict[str, Any]:
        """POST …/jobs/{job_id}/rerun/ (no body); may raise :class:`RequestOutcomeUnknown`."""
        return self.send(self._rerun_request(job_id))["data"]

    def retry_run(self, run_id: int) -> dict[str, Any]:
        """POST …/runs/{run_id}/retry/ (rerun from failure; no body); may raise ``RequestOutcomeUnknown``."""
        return (self.send(self._retry_request(run_id)))["data"]

    def get_job_artifact(self, job_id: int, path: str) -> bytes:
        """An artifact of the job's latest successful run (``manifest.json``…)."""
        return (self.send(self._job_artifact_request(job_id, path))).content

    def cancel_run(self, run_id: int) -> dict[str, Any]:
        return self.send(self._cancel_request(run_id))["data"]

    def list_artifacts(self, run_id: int) -> list[str]:
        return list(self.get_json(self.api_path("runs", run_id, "artifacts"))["data"] or [])

    def get_artifact(self, run_id: int, path: str, *, step: int | None = None) -> bytes:
        """One artifact file (``step`` is 1-based; dbt Cloud defaults to the last step)."""
        return self.send(self._artifact_request(run_id, path, step)).content
