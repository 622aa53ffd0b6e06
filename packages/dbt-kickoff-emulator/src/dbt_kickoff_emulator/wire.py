"""Wire formats of the Admin API v2: envelopes, timestamps, durations, run/job/step/account objects."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from dbt_kickoff_emulator.models import (
    CANCELLED,
    ERROR,
    QUEUED,
    RUNNING,
    STARTING,
    SUCCESS,
    Account,
    Environment,
    Job,
    Project,
    Run,
    Step,
)

STATUS_HUMANIZED = {
    QUEUED: "Queued",
    STARTING: "Starting",
    RUNNING: "Running",
    SUCCESS: "Success",
    ERROR: "Error",
    CANCELLED: "Cancelled",
}
STATUS_COLOR = {
    QUEUED: "#5A6B77",
    STARTING: "#5A6B77",
    RUNNING: "#009ACB",
    SUCCESS: "#05D9A6",
    ERROR: "#FF694B",
    CANCELLED: "#97A3AB",
}
TRUNCATED_DEBUG_LINES = 1000
"""``truncated_debug_logs`` holds the last 1,000 lines of a step's debug log (DBT_CLOUD_API.md §4.2)."""
NOT_FOUND_MESSAGE = "The requested resource was not found. Please check that you have the proper permissions."
INVALID_MESSAGE = "The request was invalid. Please double check the provided data and try again."


def run_timestamp(moment: datetime | None) -> str | None:
    """Run timestamps use a space: ``2024-05-27 10:42:16.179903+00:00``."""
    return None if moment is None else moment.isoformat(sep=" ", timespec="microseconds")


def job_timestamp(moment: datetime | None) -> str | None:
    """Job and account timestamps use ``T``: ``2024-05-27T10:42:10.111442+00:00``."""
    return None if moment is None else moment.isoformat(timespec="microseconds")


def hms(seconds: float) -> str:
    """``"HH:MM:SS"``; the hour field grows past 23 (``"24:00:36"``)."""
    total = max(0, int(seconds))
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


def humanize_seconds(seconds: float) -> str:
    """``86400`` -> ``"1 day"``, ``3725`` -> ``"1 hour, 2 minutes"`` (at most two units)."""
    total = max(0, int(seconds))
    parts = []
    for name, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        count, total = divmod(total, size)
        if count:
            parts.append(f"{count} {name}{'s' if count != 1 else ''}")
    return ", ".join(parts[:2]) if parts else "0 seconds"


def humanize_ago(moment: datetime | None, now: datetime) -> str | None:
    """``"3 minutes ago"``; ``"just now"`` under one second."""
    if moment is None:
        return None
    elapsed = (now - moment).total_seconds()
    return "just now" if elapsed < 1 else f"{humanize_seconds(elapsed).split(', ')[0]} ago"


def status_fields(status: int) -> dict[str, Any]:
    """The status code with its humanized name and the five flags of §5.1."""
    return {
        "status": status,
        "status_humanized": STATUS_HUMANIZED[status],
        "in_progress": status in (QUEUED, STARTING, RUNNING),
        "is_complete": status in (SUCCESS, ERROR, CANCELLED),
        "is_success": status == SUCCESS,
        "is_error": status == ERROR,
        "is_cancelled": status == CANCELLED,
        "is_running": None,
    }


def envelope(data: Any, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A success envelope."""
    body: dict[str, Any] = {
        "status": {"code": 200, "is_success": True, "user_message": "Success!", "developer_message": ""},
        "data": data,
    }
    if extra is not None:
        body["extra"] = dict(extra)
    return body


def error_envelope(
    code: int, user_message: str, *, developer_message: str | None = None, data: Any = None
) -> dict[str, Any]:
    """An error envelope."""
    return {
        "status": {
            "code": code,
            "is_success": False,
            "user_message": user_message,
            "developer_message": developer_message,
        },
        "data": data,
    }


def not_found() -> dict[str, Any]:
    """The 404 envelope for a missing or invisible resource."""
    return error_envelope(404, NOT_FOUND_MESSAGE, developer_message="")


def validation_error(fields: Mapping[str, str]) -> dict[str, Any]:
    """The 400 envelope with a field -> message map."""
    return error_envelope(400, INVALID_MESSAGE, developer_message="", data=dict(fields))


def list_extra(filters: Mapping[str, Any], order_by: str, count: int, total: int) -> dict[str, Any]:
    """``extra`` of a list response."""
    return {
        "filters": dict(filters),
        "order_by": order_by,
        "pagination": {"count": count, "total_count": total},
    }


def account_object(account: Account) -> dict[str, Any]:
    """The account object."""
    return {
        "id": account.id,
        "name": account.name,
        "state": 1,
        "plan": "enterprise",
        "pending_cancel": False,
        "run_slots": account.run_slots,
        "queue_limit": account.queue_limit,
        "run_duration_limit_seconds": account.run_duration_limit_seconds,
        "developer_seats": 10,
        "read_only_seats": 10,
        "locked": False,
        "static_subdomain": account.static_subdomain,
        "created_at": job_timestamp(account.created_at),
        "updated_at": job_timestamp(account.created_at),
    }


def environment_object(environment: Environment) -> dict[str, Any]:
    """An environment object (v2 ``include_related=environment`` and v3 lists)."""
    return {
        "id": environment.id,
        "account_id": environment.account_id,
        "project_id": environment.project_id,
        "name": environment.name,
        "type": "deployment" if environment.deployment_type else "development",
        "deployment_type": environment.deployment_type,
        "dbt_version": environment.dbt_version,
        "use_custom_branch": False,
        "custom_branch": None,
        "state": 1,
        "connection_id": environment.id + 1,
        "credentials_id": environment.id + 2,
    }


def project_object(project: Project) -> dict[str, Any]:
    """A project object (v3 lists)."""
    return {
        "id": project.id,
        "account_id": project.account_id,
        "name": project.name,
        "description": "",
        "dbt_project_subdirectory": None,
        "connection_id": None,
        "repository_id": project.id + 1,
        "state": 1,
        "type": 0,
    }


def job_object(job: Job, *, related: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The job object of §4.6; ``related`` adds ``include_related`` members."""
    schedule_hours = [6]
    body: dict[str, Any] = {
        "id": job.id,
        "account_id": job.account_id,
        "project_id": job.project_id,
        "environment_id": job.environment_id,
        "name": job.name,
        "description": job.description,
        "dbt_version": job.dbt_version,
        "raw_dbt_version": job.dbt_version,
        "execute_steps": list(job.execute_steps),
        "settings": {"threads": job.threads, "target_name": job.target_name},
        "execution": {"timeout_seconds": job.timeout_seconds},
        "generate_docs": job.generate_docs,
        "run_generate_sources": job.run_generate_sources,
        "triggers": {
            "github_webhook": False,
            "schedule": job.schedule_enabled,
            "git_provider_webhook": False,
            "on_merge": False,
            "custom_branch_only": False,
        },
        "schedule": {
            "cron": job.cron,
            "date": {"type": "every_day", "days": None, "cron": job.cron},
            "time": {"type": "at_exact_hours", "interval": 1, "hours": schedule_hours},
        },
        "state": job.state,
        "job_type": job.job_type,
        "deferring_job_definition_id": job.deferring_job_definition_id,
        "deferring_environment_id": None,
        "is_deferrable": job.job_type == "scheduled",
        "run_failure_count": 0,
        "lifecycle_webhooks": False,
        "job_completion_trigger_condition": None,
        "triggers_on_draft_pr": False,
        "run_compare_changes": False,
        "cron_humanized": "At 06:00 AM",
        "next_run": None,
        "next_run_humanized": None,
        "deactivated": job.state != 1,
        "is_system": False,
        "created_at": job_timestamp(job.created_at),
        "updated_at": job_timestamp(job.updated_at),
    }
    if related:
        body.update(related)
    return body


def step_object(step: Step, run: Run, now: datetime, include: Collection[str]) -> dict[str, Any]:
    """A run step object (§4.8)."""
    end = step.finished_at or now
    seconds = (end - step.started_at).total_seconds() if step.started_at else 0.0
    body: dict[str, Any] = {
        "id": step.id,
        "run_id": run.id,
        "account_id": run.account_id,
        "index": step.index,
        "name": step.name,
        "status": step.status,
        "status_humanized": STATUS_HUMANIZED[step.status],
        "status_color": STATUS_COLOR[step.status],
        "logs": step.logs,
        "truncated_debug_logs": "\n".join(step.debug_lines[-TRUNCATED_DEBUG_LINES:]),
        "debug_logs": step.debug_logs if "debug_logs" in include else None,
        "log_path": f"logs/{run.id}/{step.index}/dbt.log",
        "debug_log_path": f"logs/{run.id}/{step.index}/dbt-debug.log",
        "log_archive_type": "db",
        "log_location": "db",
        "started_at": run_timestamp(step.started_at),
        "finished_at": run_timestamp(step.finished_at),
        "created_at": run_timestamp(step.created_at),
        "updated_at": run_timestamp(step.finished_at or step.started_at),
        "duration": hms(seconds),
        "duration_humanized": humanize_seconds(seconds),
    }
    return body


def retry_fields(run: Run, latest_run_id: int | None) -> dict[str, Any]:
    """``can_retry`` and ``retry_not_supported_reason``."""
    if run.status != ERROR:
        reason: str | None = "RETRY_NOT_FAILED_RUN"
    elif latest_run_id != run.id:
        reason = "RETRY_NOT_LATEST_RUN"
    elif run.final_step <= 3:
        reason = "RETRY_NO_RUN_RESULTS"
    else:
        reason = None
    return {"can_retry": reason is None, "retry_not_supported_reason": reason}


def run_object(
    run: Run,
    *,
    base_url: str,
    now: datetime,
    include: Collection[str],
    related: Mapping[str, Any],
    latest_run_id: int | None,
) -> dict[str, Any]:
    """The run object of §5.2. ``related`` holds the ``job``/``environment`` objects, used when included."""
    end = run.finished_at or now
    queued_end = run.dequeued_at or run.finished_at or now
    run_seconds = (end - run.started_at).total_seconds() if run.started_at else 0.0
    docs = any(s.command == "dbt docs generate" and s.status == SUCCESS for s in run.steps)
    sources = any(s.command == "dbt source freshness" and s.status == SUCCESS for s in run.steps)
    body: dict[str, Any] = {
        "id": run.id,
        "trigger_id": run.trigger_id,
        "account_id": run.account_id,
        "environment_id": run.environment_id,
        "project_id": run.project_id,
        "job_definition_id": run.job_id,
        "job_id": run.job_id,
        **status_fields(run.status),
        "status_message": run.status_message,
        "dbt_version": run.dbt_version,
        "git_branch": run.git_branch,
        "git_sha": run.git_sha,
        "owner_thread_id": None,
        "executed_by_thread_id": f"dbt-run-{run.id}-worker" if run.dequeued_at else None,
        "deferring_run_id": None,
        "artifacts_saved": run.is_terminal and any(s.artifacts for s in run.steps),
        "artifact_s3_path": f"prod-us-c1/runs/{run.id}/artifacts/target" if run.is_terminal else None,
        "has_docs_generated": docs,
        "has_sources_generated": sources,
        "notifications_sent": run.is_terminal,
        "blocked_by": list(run.blocked_by),
        "scribe_enabled": True,
        "created_at": run_timestamp(run.created_at),
        "updated_at": run_timestamp(run.updated_at or run.created_at),
        "dequeued_at": run_timestamp(run.dequeued_at),
        "started_at": run_timestamp(run.started_at),
        "finished_at": run_timestamp(run.finished_at),
        "last_checked_at": run_timestamp(run.last_checked_at),
        "last_heartbeat_at": run_timestamp(run.last_checked_at if run.started_at else None),
        "should_start_at": None,
        "trigger": dict(run.trigger) if "trigger" in include else None,
        "job": related.get("job") if "job" in include else None,
        "environment": related.get("environment") if "environment" in include else None,
        "run_steps": [step_object(s, run, now, include) for s in run.visible_steps]
        if "run_steps" in include
        else [],
        "run_retries": [] if "run_retries" in include else None,
        "status_color": STATUS_COLOR[run.status],
        "deprecation": {"count": 0},
        "duration": hms((end - run.created_at).total_seconds()),
        "queued_duration": hms((queued_end - run.created_at).total_seconds()),
        "run_duration": hms(run_seconds),
        "duration_humanized": humanize_seconds((end - run.created_at).total_seconds()),
        "queued_duration_humanized": humanize_seconds((queued_end - run.created_at).total_seconds()),
        "run_duration_humanized": humanize_seconds(run_seconds),
        "created_at_humanized": humanize_ago(run.created_at, now),
        "finished_at_humanized": humanize_ago(run.finished_at, now),
        "retrying_run_id": run.retrying_run_id,
        **retry_fields(run, latest_run_id),
        "href": f"{base_url}/deploy/{run.account_id}/projects/{run.project_id}/runs/{run.id}/",
        "used_repo_cache": None if "used_repo_cache" not in include else False,
        "repo_cache_restore": None,
        "audit": _audit(run) if "audit" in include else None,
        "in_progress_step": None,
    }
    return body


def _audit(run: Run) -> dict[str, Any]:
    actor = {"id": None, "type": "service_token", "name": "API"}
    return {
        "trigger": {"actor": actor, "created_at": run_timestamp(run.created_at)},
        "cancellation": {"actor": actor} if run.cancel_requested_at else None,
    }
