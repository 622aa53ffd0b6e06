"""Starting a run without ever starting two: trigger body, marker in ``cause``, ledger, reconcile by listing.

The flows here are shared by the sync and async runners (see :mod:`.flows`).
"""

from __future__ import annotations

import difflib
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dbt_kickoff.cloud.base import CloudBase, human
from dbt_kickoff.cloud.errors import (
    DbtCloudAPIError,
    DbtCloudNotFoundError,
    DbtCloudTriggerUncertain,
)
from dbt_kickoff.cloud.flows import Flow, Sleep, call
from dbt_kickoff.cloud.ledger import idempotency_marker
from dbt_kickoff.cloud.policy import RequestOutcomeUnknown
from dbt_kickoff.cloud.status import IN_PROGRESS, RunStatus
from dbt_kickoff.errors import ConfigurationError

logger = logging.getLogger("dbt_kickoff.cloud.runs")

MAX_CAUSE_LENGTH = 255
DEFAULT_CAUSE = "Triggered by dbt-kickoff"
RECONCILE_WINDOW = 50

_STR, _INT, _BOOL, _LIST = "a non-empty string", "an integer", "true or false", "a list of non-empty strings"
TRIGGER_FIELDS: dict[str, str] = {
    "cause": _STR,
    "git_sha": _STR,
    "git_branch": _STR,
    "azure_pull_request_id": _INT,
    "github_pull_request_id": _INT,
    "gitlab_merge_request_id": _INT,
    "non_native_pull_request_id": _INT,
    "schema_override": _STR,
    "dbt_version_override": _STR,
    "threads_override": _INT,
    "target_name_override": _STR,
    "generate_docs_override": _BOOL,
    "timeout_seconds_override": _INT,
    "steps_override": _LIST,
}


def _check_field(name: str, value: Any) -> Any:
    kind = TRIGGER_FIELDS[name]
    ok = True
    if kind == _STR:
        ok = isinstance(value, str) and bool(value.strip())
    elif kind == _INT:
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == _BOOL:
        ok = isinstance(value, bool)
    elif kind == _LIST:
        ok = isinstance(value, (list, tuple)) and all(isinstance(s, str) and s.strip() for s in value)
        value = list(value) if ok else value
    if not ok:
        raise ConfigurationError(f"dbt Cloud trigger field {name!r} must be {kind}, got {value!r}")
    return value


def with_marker(cause: str, marker: str) -> str:
    """``cause`` with ``[marker]`` appended, cut so the whole stays within dbt Cloud's 255 characters."""
    suffix = f" [{marker}]"
    text = " ".join(cause.split())
    room = MAX_CAUSE_LENGTH - len(suffix)
    if len(text) > room:
        text = text[: room - 1].rstrip() + "…"
    return text + suffix


def build_trigger_body(
    data: Mapping[str, Any] | None, marker: str, defaults: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Validate the optional trigger fields (dbt Cloud §4.1) and add a ``cause`` carrying ``marker``.

    ``None`` values and an empty ``steps_override`` are left out; unknown keys are rejected with a hint,
    since dbt Cloud would silently ignore a misspelt override.
    """
    merged = {**(defaults or {}), **(data or {})}
    body: dict[str, Any] = {}
    for name, value in merged.items():
        if name not in TRIGGER_FIELDS:
            close = difflib.get_close_matches(str(name), TRIGGER_FIELDS, n=1)
            hint = (
                f"; did you mean {close[0]!r}?" if close else f"; known fields: {', '.join(TRIGGER_FIELDS)}"
            )
            raise ConfigurationError(f"unknown dbt Cloud trigger field {name!r}{hint}")
        if value is None or (name == "steps_override" and value in ([], ())):
            continue
        body[name] = _check_field(name, value)
    if "git_sha" in body and "git_branch" in body:
        logger.warning(
            "both git_sha and git_branch given: dbt Cloud checks out git_sha; git_branch is not sent"
        )
        del body["git_branch"]
    body["cause"] = with_marker(body.get("cause") or DEFAULT_CAUSE, marker)
    return body


@dataclass(frozen=True)
class TriggerPlan:
    """A validated trigger: which job, the marker in its cause, the body, what to do before posting."""

    job: int
    marker: str
    body: dict[str, Any]
    data: Mapping[str, Any] | None
    keyed: bool  # an idempotency key: hold the ledger claim, look for the key's run first, record it
    attach_to_running: bool
    rerun_from_failure: bool


def plan_trigger(
    cloud: CloudBase,
    job_id: int | str | None,
    data: Mapping[str, Any] | None,
    idempotency_key: str | None,
    attach_to_running: bool,
    rerun_from_failure: bool,
) -> TriggerPlan:
    """Decide the job, the marker and the body (no request is made; the options were checked by the entry point,
    the trigger fields are checked here)."""
    job = cloud.job_id(job_id)
    marker = (
        idempotency_marker(cloud.client.host, cloud.client.account_id, job, str(idempotency_key))
        if idempotency_key is not None
        else f"dbt-kickoff:{uuid.uuid4().hex[:16]}"
    )
    body = build_trigger_body(data, marker, cloud.credentials.trigger_defaults)
    return TriggerPlan(
        job, marker, body, data, idempotency_key is not None, bool(attach_to_running), bool(rerun_from_failure)
    )


def trigger_flow(cloud: CloudBase, plan: TriggerPlan) -> Flow[dict[str, Any]]:
    """Reattach (with a key), attach, rerun or trigger, as planned. A keyed plan runs under the ledger claim."""
    if not plan.keyed:
        return (yield from _start(cloud, plan))
    run = yield from _reattach(cloud, plan.job, plan.marker)
    if run is None:
        run = yield from _start(cloud, plan)
        cloud.ledger.record(plan.marker, int(run["id"]), plan.job)
    return run


def _start(cloud: CloudBase, plan: TriggerPlan) -> Flow[dict[str, Any]]:
    job = plan.job
    run: dict[str, Any] | None = None
    if plan.attach_to_running:
        active = yield call("list_runs", job, order_by="-id", status_in=IN_PROGRESS, limit=1)
        if active:
            run = active[0]
            logger.info("attaching to dbt Cloud run %s of job %s, already %s", run["id"], job, human(run))
    if run is None and plan.rerun_from_failure:
        run = yield from _rerun_if_failed(job, plan.data)
    if run is None:
        run = yield from _post_trigger(cloud, job, plan.body, plan.marker)
        logger.info("triggered dbt Cloud run %s of job %s (%s)", run["id"], job, plan.marker)
    return run


def _reattach(cloud: CloudBase, job: int, marker: str) -> Flow[dict[str, Any] | None]:
    run_id = cloud.ledger.lookup(marker)
    if run_id is not None:
        try:
            run = yield call("get_run", run_id)
        except DbtCloudNotFoundError:
            logger.warning("run %s remembered for this idempotency key no longer exists", run_id)
        else:
            logger.info("reattaching to dbt Cloud run %s (same idempotency key), %s", run_id, human(run))
            return run
    found = yield from _find_marked_run(job, marker)
    if found is not None:
        logger.info("found dbt Cloud run %s started with this idempotency key, %s", found["id"], human(found))
        cloud.ledger.record(marker, int(found["id"]), job)
    return found


def _find_marked_run(job: int, marker: str) -> Flow[dict[str, Any] | None]:
    runs = yield call("list_runs", job, order_by="-id", include_related=("trigger",), limit=RECONCILE_WINDOW)
    for run in runs:
        trigger = run.get("trigger")
        if trigger is None:  # the server left the trigger out: read it run by run
            trigger = (yield call("get_run", int(run["id"]), ("trigger",))).get("trigger") or {}
        if marker in str(trigger.get("cause") or ""):
            return run
    return None


def _post_trigger(cloud: CloudBase, job: int, body: Mapping[str, Any], marker: str) -> Flow[dict[str, Any]]:
    policy = cloud.client.retry
    attempt = 0
    while True:
        attempt += 1
        try:
            return (yield call("trigger_run", job, body))
        except RequestOutcomeUnknown as exc:
            problem, answered, timed_out = str(exc), exc.server_answered, exc.timed_out
        logger.warning("%s; looking for a run of job %s carrying %s before deciding", problem, job, marker)
        found = yield from _reconcile(cloud, job, marker, answered, problem)
        if found is not None:
            logger.info("the trigger did reach dbt Cloud: adopting run %s", found["id"])
            return found
        if timed_out:  # dbt Cloud may still be working on it: re-sending could start a second run
            raise DbtCloudTriggerUncertain(
                f"triggering dbt Cloud job {job} timed out ({problem}) and no run carrying {marker} has "
                "appeared yet. A run may exist: check the job's runs for that marker before retrying, or "
                "retry with an idempotency_key, which finds the run if it does exist.",
                job_id=job,
                marker=marker,
            )
        if attempt >= policy.max_attempts:
            raise DbtCloudTriggerUncertain(
                f"could not trigger dbt Cloud job {job} after {attempt} attempts ({problem}). No run "
                f"carrying {marker} was found, but one may still appear: check the job's runs before "
                "retrying.",
                job_id=job,
                marker=marker,
            )
        yield Sleep(policy.backoff(attempt))


def _reconcile(
    cloud: CloudBase, job: int, marker: str, server_answered: bool, problem: str
) -> Flow[dict[str, Any] | None]:
    """Look for our run after an ambiguous trigger failure; ``None`` when it surely does not exist."""
    # A server that answered has finished with the request; one that did not may still be creating it.
    checks = 1 if server_answered else 2
    for check in range(checks):
        if check:
            yield Sleep(max(2.0, cloud.client.retry.backoff(2)))
        try:
            found = yield from _find_marked_run(job, marker)
        except DbtCloudAPIError as exc:
            raise DbtCloudTriggerUncertain(
                f"triggering dbt Cloud job {job} failed ({problem}) and its runs could not be listed "
                f"({exc}). A run may exist: look for {marker} in the cause of the job's newest runs "
                "before retrying.",
                job_id=job,
                marker=marker,
            ) from None
        if found is not None:
            return found
    return None


def _rerun_if_failed(job: int, data: Mapping[str, Any] | None) -> Flow[dict[str, Any] | None]:
    newest = yield call("list_runs", job, order_by="-id", limit=1)
    if not newest or RunStatus.of(newest[0]) != RunStatus.ERROR:
        state = human(newest[0]) if newest else "none"
        logger.info("job %s's newest run did not fail (%s): triggering a new run instead of a rerun", job, state)
        return None
    ignored = sorted(k for k, v in (data or {}).items() if k != "cause" and v is not None)
    if ignored:
        logger.warning(
            "rerunning job %s from its failed run %s: trigger overrides are ignored by dbt Cloud (%s)",
            job,
            newest[0]["id"],
            ", ".join(ignored),
        )
    failed_id = int(newest[0]["id"])
    try:
        run = yield call("rerun_job", job)
    except RequestOutcomeUnknown as exc:
        problem = str(exc)
    else:
        logger.info("rerunning failed run %s of job %s as run %s", failed_id, job, run["id"])
        return run
    try:
        newer = yield call("list_runs", job, order_by="id", id_gt=failed_id, include_related=("trigger",), limit=10)
    except DbtCloudAPIError:
        newer = None
    if newer:
        reruns = [r for r in newer if (r.get("trigger") or {}).get("cause_category") == "rerun"]
        return (reruns or newer)[0]
    raise DbtCloudTriggerUncertain(
        f"the rerun of dbt Cloud job {job} failed ({problem}) and no newer run than {failed_id} could be "
        "confirmed. A run may exist: check the job's runs before retrying.",
        job_id=job,
        marker="",
    )
