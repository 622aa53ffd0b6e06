"""The async HTTP client of the dbt Cloud Administrative API (``httpx.AsyncClient``): an I/O shell over
:mod:`.policy`, with the same methods and rules as :class:`~dbt_kickoff.cloud.client.DbtCloudClient`."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import Any

import httpx

from dbt_kickoff.cloud.clock import Clock, asleep
from dbt_kickoff.cloud.credentials import DbtCloudCredentials
from dbt_kickoff.cloud.endpoints import ClientBase
from dbt_kickoff.cloud.options import CLIENT_OPTIONS
from dbt_kickoff.cloud.policy import MAX_PAGE_SIZE, Done, Pager, Request, Retry, RetryPolicy
from dbt_kickoff.validation import validated


class AsyncDbtCloudClient(ClientBase):
    """A thin, retrying async HTTP client for one dbt Cloud account; close it with :meth:`aclose`."""

    @validated(CLIENT_OPTIONS)
    def __init__(
        self,
        credentials: DbtCloudCredentials,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        clock: Clock | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        rng: random.Random | None = None,
        secrets: Iterable[str] = (),
    ) -> None:
        super().__init__(credentials, timeout=timeout, retry=retry, clock=clock, rng=rng, secrets=secrets)
        self._http = httpx.AsyncClient(transport=transport, **self._http_options(credentials))

    @property
    def closed(self) -> bool:
        """True once the client's connections were closed."""
        return self._http.is_closed

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncDbtCloudClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- generic requests ------------------------------------------------------------------------------------

    async def send(self, request: Request) -> Any:
        """Send ``request``, retrying as :class:`~dbt_kickoff.cloud.policy.Exchange` decides."""
        exchange = self._exchange(request)
        while True:
            try:
                response = await self._http.request(request.method, request.path, **request.httpx_kwargs(),
                                                    timeout=self._attempt_timeout())
            except httpx.HTTPError as exc:
                step: Retry | Done = exchange.failed(exc)
            else:
                step = exchange.answered(response, self.clock.time())
            if isinstance(step, Done):
                return step.value
            self._check_time_left(exchange, step)
            self._log_retry(exchange, step)
            await asleep(self.clock, step.delay)

    async def get_json(
        self, path: str, params: Mapping[str, Any] | None = None, *, not_found_retries: int = 0
    ) -> dict[str, Any]:
        """GET an enveloped JSON document (retried)."""
        return await self.send(Request("GET", path, params, not_found_retries=not_found_retries))

    async def post_json(
        self, path: str, body: Mapping[str, Any] | None = None, *, idempotent: bool = False
    ) -> dict[str, Any]:
        """POST and return the enveloped JSON answer; see :mod:`.policy` for what is retried."""
        return await self.send(Request("POST", path, json_body=body, idempotent=idempotent))

    async def get_bytes(self, path: str, params: Mapping[str, Any] | None = None) -> bytes:
        """GET a raw (not enveloped) document, e.g. an artifact (which may be JSON, SQL or parquet)."""
        return (await self.send(Request("GET", path, params, raw=True))).content

    async def paginate(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        page_size: int = MAX_PAGE_SIZE,
        max_items: int | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """Yield the items of a list endpoint page by page (``limit`` ≤ 100)."""
        pager = Pager(params, page_size, max_items)
        while (query := pager.next_params()) is not None:
            for item in pager.take(await self.get_json(path, query)):
                yield item

    async def _all(self, path: str, params: Mapping[str, Any] | None, max_items: int | None = None) -> list[Any]:
        return [item async for item in self.paginate(path, params, max_items=max_items)]

    # -- endpoints -------------------------------------------------------------------------------------------

    async def get_run(
        self, run_id: int, include_related: Sequence[str] = (), *, not_found_retries: int = 0
    ) -> dict[str, Any]:
        return (await self.send(self._get_run_request(run_id, include_related, not_found_retries)))["data"]

    async def list_runs(
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
        return await self._all(self.api_path("runs"), params, limit)

    async def get_job(self, job_id: int, include_related: Sequence[str] = ()) -> dict[str, Any]:
        return (await self.send(self._get_job_request(job_id, include_related)))["data"]

    async def list_jobs(self, **filters: Any) -> list[dict[str, Any]]:
        return await self._all(self.api_path("jobs"), filters)

    async def list_projects(self, **filters: Any) -> list[dict[str, Any]]:
        """v3 projects of the account (``name__icontains=`` filters by name)."""
        return await self._all(self.api_v3_path("projects"), filters)

    async def list_environments(self, project_id: int, **filters: Any) -> list[dict[str, Any]]:
        """v3 environments of a project (``name__icontains=`` filters by name)."""
        return await self._all(self.api_v3_path("projects", project_id, "environments"), filters)

    async def trigger_run(self, job_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST …/jobs/{job_id}/run/ once (plus safe retries); may raise ``RequestOutcomeUnknown``."""
        return (await self.send(self._trigger_request(job_id, body)))["data"]

    async def rerun_job(self, job_id: int) -> dict[str, Any]:
        """POST …/jobs/{job_id}/rerun/ (no body); may raise ``RequestOutcomeUnknown``."""
        return (await self.send(self._rerun_request(job_id)))["data"]

    async def retry_run(self, run_id: int) -> dict[str, Any]:
        """POST …/runs/{run_id}/retry/ (rerun from failure; no body); may raise ``RequestOutcomeUnknown``."""
        return (await self.send(self._retry_request(run_id)))["data"]

    async def get_job_artifact(self, job_id: int, path: str) -> bytes:
        """An artifact of the job's latest successful run (``manifest.json``…)."""
        return (await self.send(self._job_artifact_request(job_id, path))).content

    async def cancel_run(self, run_id: int) -> dict[str, Any]:
        return (await self.send(self._cancel_request(run_id)))["data"]

    async def list_artifacts(self, run_id: int) -> list[str]:
        return list((await self.get_json(self.api_path("runs", run_id, "artifacts")))["data"] or [])

    async def get_artifact(self, run_id: int, path: str, *, step: int | None = None) -> bytes:
        """One artifact file (``step`` is 1-based; dbt Cloud defaults to the last step)."""
        return (await self.send(self._artifact_request(run_id, path, step))).content
