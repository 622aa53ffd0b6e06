"""Rerunning one failed run from its point of failure (``POST …/runs/{id}/retry/``), never twice.

The rerun is keyed like a trigger with an idempotency key: ``dbt-kickoff-retry:<run id>``, remembered in the
ledger, so a second retry of the same run (another worker, a retried task) reattaches to the rerun the first one
started. Without the ledger (another machine), the job's runs newer than the failed one are looked through for
the one rerunning it (``retrying_run_id``, else the newest with ``cause_category`` ``rerun``). The caller holds
the ledger's claim on :func:`retry_marker` around :func:`rerun_flow`. A flow shared by the sync and async runners.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from dbt_kickoff.cloud.base import CloudBase, human
from dbt_kickoff.cloud.errors import DbtCloudAPIError, DbtCloudNotFoundError, DbtCloudTriggerUncertain
from dbt_kickoff.cloud.flows import Flow, call
from dbt_kickoff.cloud.ledger import idempotency_marker
from dbt_kickoff.cloud.policy import RequestOutcomeUnknown
from dbt_kickoff.cloud.status import RunStatus

logger = logging.getLogger("dbt_kickoff.cloud.runs")

LOOK_AHEAD = 20  # newer runs of the job looked through for the rerun of a run


def retry_marker(cloud: CloudBase, run: Mapping[str, Any]) -> str:
    """The idempotency marker of "rerun this run from failure"."""
    job = int(run.get("job_definition_id") or run.get("job_id") or 0)
    return idempotency_marker(cloud.client.host, cloud.client.account_id, job, f"dbt-kickoff-retry:{run['id']}")


def rerun_flow(cloud: CloudBase, run: Mapping[str, Any]) -> Flow[dict[str, Any] | None]:
    """The rerun of ``run`` (the run as dbt Cloud describes it): the one already started for it, else a new one
    when ``run`` failed; ``None`` when it did not fail (nothing to rerun)."""
    run_id, job = int(run["id"]), int(run.get("job_definition_id") or run.get("job_id") or 0)
    marker = retry_marker(cloud, run)
    remembered = cloud.ledger.lookup(marker)
    if remembered is not None:
        try:
            found = yield call("get_run", remembered)
        except DbtCloudNotFoundError:
            logger.warning("the rerun %s remembered for run %s no longer exists", remembered, run_id)
        else:
            logger.info("reattaching to dbt Cloud run %s, the rerun of run %s (%s)", remembered, run_id, human(found))
            return dict(found)
    found = yield from _find_rerun(job, run_id)
    if found is not None:
        logger.info("dbt Cloud run %s already reruns run %s (%s): reattaching", found["id"], run_id, human(found))
        cloud.ledger.record(marker, int(found["id"]), job)
        return found
    if RunStatus.of(run) != RunStatus.ERROR:
        return None
    try:
        rerun: dict[str, Any] = yield call("retry_run", run_id)
    except RequestOutcomeUnknown as exc:
        logger.warning("%s; looking for the rerun of run %s before deciding", exc, run_id)
        try:
            found = yield from _find_rerun(job, run_id)
        except DbtCloudAPIError:
            found = None
        if found is None:
            raise DbtCloudTriggerUncertain(
                f"rerunning dbt Cloud run {run_id} from failure failed ({exc}) and no rerun of it could be found. "
                "One may still appear: look at the job's runs before retrying again.",
                job_id=job, marker=marker,
            ) from None
        rerun = found
    logger.info("rerunning dbt Cloud run %s from failure as run %s", run_id, rerun["id"])
    cloud.ledger.record(marker, int(rerun["id"]), job)
    return rerun


def _find_rerun(job: int, run_id: int) -> Flow[dict[str, Any] | None]:
    newer = yield call("list_runs", job, order_by="id", id_gt=run_id, include_related=("trigger",),
                       limit=LOOK_AHEAD)
    marked = [r for r in newer if r.get("retrying_run_id") is not None]
    if marked:
        return next((dict(r) for r in marked if int(r["retrying_run_id"]) == run_id), None)
    reruns = [r for r in newer if (r.get("trigger") or {}).get("cause_category") == "rerun"]
    return dict(reruns[0]) if reruns else None
