"""Route handlers: one function per endpoint, each turning a parsed request into a :class:`Reply`."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from dbt_kickoff_emulator.artifacts import content_type_for
from dbt_kickoff_emulator.models import SUCCESS, Job, Run, Token
from dbt_kickoff_emulator.queries import (
    Query,
    ValidationFailed,
    first,
    parse_bool,
    parse_bracketed,
    parse_include_related,
    parse_int,
    parse_order_by,
    parse_paging,
    parse_range,
    strict_int,
)
from dbt_kickoff_emulator.replies import ApiError, Reply, detail_reply, json_reply
from dbt_kickoff_emulator.state import EmulatorState, NotRetryable, QueueFull
from dbt_kickoff_emulator.validation import validate_trigger
from dbt_kickoff_emulator.wire import (
    account_object,
    envelope,
    environment_object,
    error_envelope,
    list_extra,
    not_found,
    project_object,
    step_object,
)

RUN_ORDERINGS = ("id", "created_at", "finished_at")
JOB_ORDERINGS = ("id", "name", "created_at", "updated_at")
TRIGGER_INCLUDE = ("trigger", "job")


@dataclass
class Request:
    """A routed, authenticated request."""

    method: str
    query: Query
    params: Mapping[str, str]
    body: bytes
    token: Token


Handler = Callable[[EmulatorState, Request], Reply]


def ok(data: Any, extra: Mapping[str, Any] | None = None) -> Reply:
    """A 200 success envelope."""
    return json_reply(200, envelope(data, extra))


def _not_found() -> ApiError:
    return ApiError(json_reply(404, not_found()))


def _account_id(req: Request) -> int:
    return int(req.params["account_id"])


def _job(state: EmulatorState, req: Request, *, active: bool = False) -> Job:
    job = state.job_for(req.token, _account_id(req), int(req.params["job_id"]), active=active)
    if job is None:
        raise _not_found()
    return job


def _run(state: EmulatorState, req: Request) -> Run:
    run = state.run_for(req.token, _account_id(req), int(req.params["run_id"]))
    if run is None:
        raise _not_found()
    return run


def _require_trigger(req: Request) -> None:
    if not req.token.can_trigger:
        raise ApiError(
            json_reply(403, error_envelope(403, "You do not have permission to perform this action."))
        )


# --- accounts ----------------------------------------------------------------------------------------------


def list_accounts(state: EmulatorState, req: Request) -> Reply:
    accounts = [account_object(a) for a in state.visible_accounts(req.token)]
    return ok(accounts, list_extra({"limit": 100, "offset": 0}, "id", len(accounts), len(accounts)))


def get_account(state: EmulatorState, req: Request) -> Reply:
    account = state.account_for(req.token, _account_id(req))
    if account is None:
        raise _not_found()
    return ok(account_object(account))


# --- jobs --------------------------------------------------------------------------------------------------


def list_jobs(state: EmulatorState, req: Request) -> Reply:
    account_id = _account_id(req)
    if state.account_for(req.token, account_id) is None or not req.token.can_read:
        raise _not_found()
    query = req.query
    limit, offset = parse_paging(query, clamp=state.faults.limit_over_max == "clamp")
    echo, field, descending = parse_order_by(query, JOB_ORDERINGS, "id")
    state_filter = (first(query, "state") or "active").lower()
    if state_filter not in ("active", "deleted", "all", "1", "2"):
        raise ValidationFailed({"state": f"'{state_filter}' is not one of active, deleted, all."})
    filters: dict[str, Any] = {
        "limit": limit,
        "offset": offset,
        "state": state_filter,
        "account_id": account_id,
    }
    jobs = [j for j in state.jobs.values() if j.account_id == account_id]
    if state_filter in ("active", "1"):
        jobs = [j for j in jobs if j.state == 1]
    elif state_filter in ("deleted", "2"):
        jobs = [j for j in jobs if j.state == 2]
    for name in ("project_id", "environment_id", "pk"):
        value = parse_int(query, name)
        if value is not None:
            filters[name] = value
            attr = "id" if name == "pk" else name
            jobs = [j for j in jobs if getattr(j, attr) == value]
    projects = parse_bracketed(query, "project_id__in", strict_int)
    if projects is not None:
        filters["project_id__in"] = projects
        jobs = [j for j in jobs if j.project_id in projects]
    name_part = first(query, "name__icontains")
    if name_part is not None:
        filters["name__icontains"] = name_part
        jobs = [j for j in jobs if name_part.lower() in j.name.lower()]
    jobs.sort(key=lambda j: (getattr(j, field) or "", j.id), reverse=descending)
    page = jobs[offset : offset + limit]
    include = parse_include_related(query)
    data = [state.job_json(j, include) for j in page]
    return ok(data, list_extra(filters, echo, len(data), len(jobs)))


def get_job(state: EmulatorState, req: Request) -> Reply:
    job = _job(state, req)
    return ok(state.job_json(job, parse_include_related(req.query)))


def _trigger_body(req: Request) -> Any:
    if not req.body.strip():
        return {}
    try:
        return json.loads(req.body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(detail_reply(400, f"JSON parse error - {exc}")) from None


def trigger(state: EmulatorState, req: Request) -> Reply:
    job = _job(state, req, active=True)
    _require_trigger(req)
    body = _trigger_body(req)
    fields = validate_trigger(body, max_cause_length=state.faults.max_cause_length)
    try:
        run = state.create_run(job, fields, body)
    except QueueFull as exc:
        raise _queue_full(exc) from None
    return ok(state.run_json(run, TRIGGER_INCLUDE))


def rerun(state: EmulatorState, req: Request) -> Reply:
    job = _job(state, req, active=True)
    _require_trigger(req)
    try:
        run = state.rerun(job)
    except QueueFull as exc:
        raise _queue_full(exc) from None
    return ok(state.run_json(run, TRIGGER_INCLUDE))


# --- v3 lookups (projects and environments by name) ---------------------------------------------------------


def _named_page(state: EmulatorState, req: Request, items: list[Any], to_json: Callable[[Any], Any]) -> Reply:
    query = req.query
    limit, offset = parse_paging(query, clamp=state.faults.limit_over_max == "clamp")
    echo, field, descending = parse_order_by(query, ("id", "name"), "id")
    filters: dict[str, Any] = {"limit": limit, "offset": offset, "account_id": _account_id(req)}
    name_part = first(query, "name__icontains")
    if name_part is not None:
        filters["name__icontains"] = name_part
        items = [i for i in items if name_part.lower() in i.name.lower()]
    items.sort(key=lambda i: (getattr(i, field), i.id), reverse=descending)
    page = [to_json(i) for i in items[offset : offset + limit]]
    return ok(page, list_extra(filters, echo, len(page), len(items)))


def list_projects(state: EmulatorState, req: Request) -> Reply:
    account_id = _account_id(req)
    if state.account_for(req.token, account_id) is None or not req.token.can_read:
        raise _not_found()
    projects = [p for p in state.projects.values() if p.account_id == account_id]
    return _named_page(state, req, projects, project_object)


def list_environments(state: EmulatorState, req: Request) -> Reply:
    account_id, project_id = _account_id(req), int(req.params["project_id"])
    project = state.projects.get(project_id)
    if state.account_for(req.token, account_id) is None or not req.token.can_read:
        raise _not_found()
    if project is None or project.account_id != account_id:
        raise _not_found()
    environments = [e for e in state.environments.values() if e.project_id == project_id]
    return _named_page(state, req, environments, environment_object)


# --- runs --------------------------------------------------------------------------------------------------


def _run_filters(state: EmulatorState, req: Request, account_id: int) -> tuple[dict[str, Any], list[Run]]:
    query = req.query
    runs = state.runs_of(account_id)
    filters: dict[str, Any] = {}
    int_filters = {
        "job_definition_id": "job_id",
        "project_id": "project_id",
        "environment_id": "environment_id",
        "status": "status",
        "pk": "id",
        "deferring_run_id": None,
    }
    for name, attr in int_filters.items():
        value = parse_int(query, name)
        if value is not None:
            filters[name] = value
            runs = [r for r in runs if attr is not None and getattr(r, attr) == value]
    for name, attr in (("status__in", "status"), ("project_id__in", "project_id"), ("pk__in", "id")):
        values = parse_bracketed(query, name, strict_int)
        if values is not None:
            filters[name] = values
            runs = [r for r in runs if getattr(r, attr) in values]
    id_gt = parse_int(query, "id__gt")
    if id_gt is not None:
        filters["id__gt"] = id_gt
        runs = [r for r in runs if r.id > id_gt]
    version = first(query, "dbt_version")
    if version is not None:
        filters["dbt_version"] = version
        runs = [r for r in runs if r.dbt_version == version]
    versions = parse_bracketed(query, "dbt_version__in", str)
    if versions is not None:
        filters["dbt_version__in"] = versions
        runs = [r for r in runs if r.dbt_version in versions]
    for name in ("has_docs_generated", "has_sources_generated"):
        flag = parse_bool(query, name)
        if flag is not None:
            filters[name] = flag
            command = "dbt docs generate" if name == "has_docs_generated" else "dbt source freshness"
            runs = [r for r in runs if _has_success(r, command) == flag]
    for name, attr in (("created_at__range", "created_at"), ("finished_at__range", "finished_at")):
        bounds = parse_range(query, name)
        if bounds is not None:
            filters[name] = first(query, name)
            low, high = bounds
            runs = [r for r in runs if getattr(r, attr) is not None and low <= getattr(r, attr) <= high]
    return filters, runs


def _has_success(run: Run, command: str) -> bool:
    return any(s.command == command and s.status == SUCCESS for s in run.steps)


def list_runs(state: EmulatorState, req: Request) -> Reply:
    account_id = _account_id(req)
    if state.account_for(req.token, account_id) is None or not req.token.can_read:
        raise _not_found()
    state.settle()
    limit, offset = parse_paging(req.query, clamp=state.faults.limit_over_max == "clamp")
    echo, field, descending = parse_order_by(req.query, RUN_ORDERINGS, "id")
    run_state = first(req.query, "state") or "all"
    filters, runs = _run_filters(state, req, account_id)
    filters = {"limit": limit, "offset": offset, "state": run_state, "account_id": account_id, **filters}
    if field == "finished_at":
        # unfinished runs sort after finished ones ascending (NULLS LAST), first when descending
        finished = sorted((r for r in runs if r.finished_at), key=lambda r: (r.finished_at, r.id))
        pending = [r for r in runs if r.finished_at is None]
        runs = [*reversed(pending), *reversed(finished)] if descending else [*finished, *pending]
    else:
        runs.sort(key=lambda r: (getattr(r, field), r.id), reverse=descending)
    page = runs[offset : offset + limit]
    include = parse_include_related(req.query)
    data = [state.run_json(r, include) for r in page]
    return ok(data, list_extra(filters, echo, len(data), len(runs)))


def get_run(state: EmulatorState, req: Request) -> Reply:
    run = _run(state, req)
    state.faults.spend_poll(req.token.value)
    if run.transient_404s > 0:
        run.transient_404s -= 1
        raise _not_found()
    state.settle(polled_run_id=run.id)
    body = state.run_json(run, parse_include_related(req.query))
    state.count_poll(run)
    return ok(body)


def cancel(state: EmulatorState, req: Request) -> Reply:
    run = _run(state, req)
    _require_trigger(req)
    state.cancel(run)
    return ok(state.run_json(run, TRIGGER_INCLUDE))


def _queue_full(exc: QueueFull) -> ApiError:
    return ApiError(json_reply(400, error_envelope(400, str(exc), developer_message="", data=None)))


def _not_retryable(reason: str) -> ApiError:
    return ApiError(
        json_reply(
            400,
            error_envelope(
                400,
                f"This run cannot be retried ({reason}).",
                developer_message="",
                data={"retry_not_supported_reason": reason},
            ),
        )
    )


def retry(state: EmulatorState, req: Request) -> Reply:
    run = _run(state, req)
    _require_trigger(req)
    state.settle()
    try:
        new_run = state.retry(run)
    except NotRetryable as exc:
        raise _not_retryable(exc.reason) from None
    except QueueFull as exc:
        raise _queue_full(exc) from None
    return ok(state.run_json(new_run, TRIGGER_INCLUDE))


def retry_info(state: EmulatorState, req: Request) -> Reply:
    run = _run(state, req)
    state.settle()
    reason = state.retry_reason(run)
    if reason is not None:
        raise _not_retryable(reason)
    failed, skipped = state.failed_and_skipped(run)
    return ok({"failed_step": failed, "skipped_steps": skipped})


def get_step(state: EmulatorState, req: Request) -> Reply:
    found = state.step_for(req.token, _account_id(req), int(req.params["step_id"]))
    if found is None:
        raise _not_found()
    run, step = found
    include = parse_include_related(req.query)
    body = step_object(step, run, state.clock.now(), include)
    if "trigger" in include:
        body["trigger"] = dict(run.trigger)
    if "job" in include:
        body["job"] = state.job_json(state.jobs[run.job_id], ())
    return ok(body)


# --- artifacts ---------------------------------------------------------------------------------------------


def list_artifacts(state: EmulatorState, req: Request) -> Reply:
    run = _run(state, req)
    state.settle()
    paths = sorted({path for step in run.visible_steps for path in step.artifacts})
    return ok(paths)


def _artifact_reply(state: EmulatorState, run: Run, path: str, query: Query) -> Reply:
    steps = run.visible_steps
    index = parse_int(query, "step")
    step = (steps[-1] if steps else None) if index is None else run.step_by_index(index)
    if step is None or not step.started or path not in step.artifacts:
        raise _not_found()
    storage_host = state.faults.artifact_redirect_host
    if storage_host is not None:
        port = state.base_url.rsplit(":", 1)[1]
        location = f"http://{storage_host}:{port}/storage/runs/{run.id}/steps/{step.index}/{quote(path)}"
        return Reply(302, b"", None, {"Location": location})
    return Reply(200, step.artifacts[path], content_type_for(path))


def get_artifact(state: EmulatorState, req: Request) -> Reply:
    run = _run(state, req)
    state.settle()
    return _artifact_reply(state, run, req.params["path"], req.query)


def job_artifact(state: EmulatorState, req: Request) -> Reply:
    job = _job(state, req)
    state.settle()
    done = [r for r in state.runs.values() if r.job_id == job.id and r.status == SUCCESS]
    if not done:
        raise _not_found()
    return _artifact_reply(state, max(done, key=lambda r: r.id), req.params["path"], req.query)


def storage_artifact(state: EmulatorState, req: Request) -> Reply:
    """The object-storage side of an artifact redirect: no token needed (the URL is the credential)."""
    run = state.runs.get(int(req.params["run_id"]))
    step = run.step_by_index(int(req.params["step"])) if run else None
    path = unquote(req.params["path"])
    if step is None or path not in step.artifacts:
        return Reply(404, b"NoSuchKey", "text/plain")
    return Reply(200, step.artifacts[path], content_type_for(path))
