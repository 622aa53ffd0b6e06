"""Prefect 3: a task and a flow that run a dbt package with dbt-kickoff, and a task that runs a dbt Cloud job.

``pip install 'dbt-kickoff[prefect]'``::

    from prefect import flow
    from dbt_kickoff.integrations.prefect import run_dbt_package

    @flow
    def nightly():
        load()
        run_dbt_package("path/or/git/url", "duckdb:///warehouse.duckdb", command="build")

Every node is logged as dbt finishes it (a dbt Cloud job's too, as its logs show them), and the node results are
published as a table artifact (also when dbt fails: then the task fails with dbt's message for every failing
node). Stopping the task stops dbt: a timeout
(``run_dbt_package.with_options(timeout_seconds=600)``) or a cancelled flow run cancels the running dbt command
(its queries are cancelled and the dbt process ends) before the task ends.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_link_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.context import TaskRunContext

import dbt_kickoff
from dbt_kickoff.cloud import DbtCloud, DbtCloudError, DbtCloudRunFailed, run_dbt_cloud_job
from dbt_kickoff.engines import DbtEvent, EventHandler
from dbt_kickoff.integrations.live import LiveRun
from dbt_kickoff.results import FAILURE_STATUSES, NodeResult
from dbt_kickoff.runner import PackageRunner

__all__ = ["dbt_package_flow", "run_dbt_cloud_job_task", "run_dbt_package"]

COMMANDS = ("build", "run_all", "run", "test", "seed", "snapshot", "source_freshness")


@task(name="dbt-kickoff package", cache_policy=NO_CACHE)
def run_dbt_package(
    package_location: str,
    destination: Any = None,
    *,
    command: str = "build",
    cmd_params: Sequence[str] = (),
    additional_vars: Mapping[str, Any] | None = None,
    full_refresh: bool = False,
    dataset_name: str | None = None,
    source_dataset_name: str | None = None,
    package_repository_branch: str | None = None,
    profiles_dir: str | None = None,
    profile_name: str | None = None,
    target: str | None = None,
    dbt_version: str | None = None,
    use_venv: bool = False,
    threads: int | None = None,
    artifact_key: str | None = "dbt-kickoff-results",
    records: str | None = None,
    records_options: Mapping[str, Any] | None = None,
) -> list[NodeResult]:
    """Run ``dbt <command>`` (``build``, ``run_all``, ``run``, ``test``, ``seed``, ``snapshot``,
    ``source_freshness``) on the package and return one :class:`~dbt_kickoff.NodeResult` per node.

    ``destination``, ``dataset_name`` and the package options are those of :func:`dbt_kickoff.package`;
    ``dbt_version`` (or ``use_venv``) runs dbt from a cached venv made by :func:`dbt_kickoff.get_venv`.
    The results become a table artifact under ``artifact_key`` (``None``: no artifact). ``records`` (a folder or
    fsspec URL, ``records_options`` its storage options) keeps the run records and warm state there: on shared
    storage a task on a fresh worker restores dbt's parse state and installed packages instead of parsing
    everything and running ``dbt deps``.
    """
    if command not in COMMANDS:
        raise ValueError(f"command must be one of {', '.join(COMMANDS)}, not {command!r}")
    logger = get_run_logger()
    venv = dbt_kickoff.get_venv(destination, dbt_version) if use_venv or dbt_version else None

    def make_runner(on_event: EventHandler) -> PackageRunner:
        return dbt_kickoff.package(
            destination, package_location, package_repository_branch=package_repository_branch, venv=venv,
            dataset_name=dataset_name, source_dataset_name=source_dataset_name, profiles_dir=profiles_dir,
            profile_name=profile_name, target=target, threads=threads, on_event=on_event, records=records,
            records_options=records_options,
        )

    def call(runner: PackageRunner) -> list[NodeResult]:
        with runner:
            if command == "run_all":
                return runner.run_all(additional_vars=additional_vars, full_refresh=full_refresh)
            options: dict[str, Any] = {"additional_vars": additional_vars}
            if command in ("build", "run", "seed"):
                options["full_refresh"] = full_refresh
            return getattr(runner, command)(list(cmd_params), **options)

    live = LiveRun(make_runner, call)
    try:
        for event in live.events():
            node = event.node
            if event.finished and node is not None:
                log = logger.error if node.status in FAILURE_STATUSES else logger.info
                log("%s %s: %s (%.2fs)%s", node.resource_type, node.name, node.status, node.execution_time or 0.0,
                    f" {node.message}" if node.message and node.status != "success" else "")
        results = live.outcome()
    except Exception as exc:  # dbt failed, or a timeout stopped it: publish what finished, then fail
        try:
            _publish_results(live.finished(), artifact_key, f"dbt {command} on {package_location}: {exc}")
        except Exception as publish_error:  # the task's own error matters more
            logger.warning("could not publish the node results: %s", publish_error)
        raise
    _publish_results(results, artifact_key, f"dbt {command} on {package_location}")
    return results


@flow(name="dbt-kickoff package")
def dbt_package_flow(
    package_location: str,
    destination: str | None = None,
    command: str = "build",
    cmd_params: list[str] | None = None,
    additional_vars: dict[str, Any] | None = None,
    full_refresh: bool = False,
    dataset_name: str | None = None,
    source_dataset_name: str | None = None,
    package_repository_branch: str | None = None,
    dbt_version: str | None = None,
    timeout_seconds: float | None = None,
    records: str | None = None,
) -> list[NodeResult]:
    """Run a dbt package (a deployable flow around :func:`run_dbt_package`; ``destination`` is a connection
    URL, or ``None`` for the package's profiles.yml). ``timeout_seconds`` stops dbt when it runs longer;
    ``records``: where run records and warm state go (shared storage: every worker starts warm)."""
    return run_dbt_package.with_options(timeout_seconds=timeout_seconds)(
        package_location, destination, command=command, cmd_params=cmd_params or (),
        additional_vars=additional_vars, full_refresh=full_refresh, dataset_name=dataset_name,
        source_dataset_name=source_dataset_name, package_repository_branch=package_repository_branch,
        dbt_version=dbt_version, records=records,
    )


@task(name="dbt Cloud job", cache_policy=NO_CACHE)
def run_dbt_cloud_job_task(
    job_id: int | str | None = None,
    data: Mapping[str, Any] | None = None,
    *,
    credentials: Any = None,
    wait_seconds: float = 10,
    timeout: float | None = None,
    artifact_key: str | None = "dbt-cloud-results",
    fail_fast: bool = False,
    records: str | bool | None = None,
) -> dict[str, Any]:
    """Trigger a dbt Cloud job, wait for it and return the run (see :func:`dbt_kickoff.cloud.run_dbt_cloud_job`).

    A retry of the task reattaches to the run its first try started (never a second run); a timeout or a
    cancelled flow run cancels the Cloud run. Each node is logged as the run's logs show it finished, and the nodes
    finished so far become a table artifact (``<artifact_key>-live``, a version per poll that brought some);
    ``fail_fast`` cancels the run at the first failing node; ``records`` is where the run's record goes. The run's
    link and node results become artifacts.
    """
    context = TaskRunContext.get()
    key = f"prefect-task-run-{context.task_run.id}" if context is not None else None
    live = _LiveNodes(f"{artifact_key}-live" if artifact_key else None)
    try:
        run = run_dbt_cloud_job(
            credentials, job_id, data, wait_for_outcome=True, wait_seconds=wait_seconds, timeout=timeout,
            cancel_on_timeout=True, cancel_on_stop=True, idempotency_key=key, on_event=live.on_event,
            on_poll=live.on_poll, fail_fast=fail_fast, records=records,
        )
    except DbtCloudRunFailed as exc:
        _publish_cloud_run(credentials, exc.run, artifact_key)
        raise
    _publish_cloud_run(credentials, run, artifact_key)
    return run


class _LiveNodes:
    """Logs each node of a Cloud run as it finishes, and publishes those finished so far at the next poll."""

    def __init__(self, key: str | None) -> None:
        self.key = key
        self.rows: list[dict[str, Any]] = []
        self.published = 0

    def on_event(self, event: DbtEvent) -> None:
        node = event.node
        if not event.finished or node is None:
            return
        logger = get_run_logger()
        log = logger.error if node.status in FAILURE_STATUSES else logger.info
        log("%s %s: %s (%.2fs)%s", node.resource_type, node.name, node.status, node.execution_time or 0.0,
            f" {node.message}" if node.message and node.status not in ("success", "pass") else "")
        self.rows.append({"node": node.name, "type": node.resource_type, "status": node.status,
                          "time (s)": round(node.execution_time or 0.0, 2), "message": node.message,
                          "unique_id": node.unique_id})

    def on_poll(self, run: Mapping[str, Any]) -> None:
        if self.key is None or len(self.rows) == self.published:
            return
        self.published = len(self.rows)
        create_table_artifact(list(self.rows), key=self.key,
                              description=f"dbt Cloud run {run.get('id')}: {self.published} node(s) finished so far")


def _publish_cloud_run(credentials: Any, run: Mapping[str, Any], artifact_key: str | None) -> None:
    if artifact_key is None:
        return
    if run.get("href"):
        create_link_artifact(str(run["href"]), link_text=f"dbt Cloud run {run.get('id')}")
    try:
        with DbtCloud(credentials) as cloud:
            results = cloud.node_results(run)
    except DbtCloudError as exc:  # the run's outcome matters more than its table
        get_run_logger().warning("no node results for dbt Cloud run %s: %s", run.get("id"), exc)
        return
    _publish_results(results, artifact_key, f"dbt Cloud run {run.get('id')}: {run.get('status_humanized')}")


def _publish_results(results: Sequence[NodeResult], key: str | None, description: str) -> None:
    if key is None:
        return
    rows = [
        {"node": r.model_name, "type": r.resource_type, "status": r.status, "time (s)": round(r.time, 2),
         "rows": r.rows_affected, "failures": r.failures, "message": r.message, "unique_id": r.unique_id}
        for r in results
    ]
    create_table_artifact(rows, key=key, description=description)
