"""OpenLineage events for a run, built from its record by the OpenLineage project's own dbt processor.

For each public call (and each dbt Cloud run waited for): a wrapping dbt run START, then per dbt step the
per-node START/COMPLETE/FAIL events with their input and output datasets (``openlineage-dbt``'s artifact
processor reading the step's ``run_results.json`` and the record's ``manifest.json``), then the wrapping COMPLETE
or FAIL — the same shape ``dbt-ol`` sends. Events go through ``openlineage-python``'s client (any of its
transports). Optional extra: ``pip install 'dbt-kickoff[lineage]'``. A dbt Cloud run's events have the job
namespace of its account and project (:func:`cloud_job_namespace`); its datasets are named from its manifest.

``openlineage=`` of :func:`dbt_kickoff.package`: ``None`` emits when the client is configured by its own
means (``OPENLINEAGE_URL``, ``OPENLINEAGE__TRANSPORT__*``, ``OPENLINEAGE_CONFIG``, ``openlineage.yml``);
``False`` never; ``True`` always (with the client's own config); a mapping is the client's config
(``{"transport": {"type": "file", "log_file_path": ...}}``); a string is an HTTP endpoint; an object with
``emit`` is used as the client.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

logger = logging.getLogger("dbt_kickoff.lineage")

_CONFIG_FILES = (Path.cwd, lambda: Path.home() / ".openlineage")


def lineage_configured(option: Any) -> bool:
    """True when events are to be emitted for ``option`` (see the module docstring)."""
    if option is False:
        return False
    if option is not None:
        return True
    if os.environ.get("OPENLINEAGE_DISABLED", "").strip().lower() == "true":
        return False
    if os.environ.get("OPENLINEAGE_URL") or os.environ.get("OPENLINEAGE_CONFIG"):
        return True
    if any(name.startswith("OPENLINEAGE__TRANSPORT") for name in os.environ):
        return True
    return any((folder() / "openlineage.yml").is_file() for folder in _CONFIG_FILES)


def make_client(option: Any) -> Any:
    """An ``OpenLineageClient`` for ``option``."""
    if option is not None and not isinstance(option, (bool, str, Mapping)) and hasattr(option, "emit"):
        return option
    try:
        from openlineage.client import OpenLineageClient
    except ImportError:
        from dbt_kickoff.errors import ConfigurationError

        raise ConfigurationError("OpenLineage events need: pip install 'dbt-kickoff[lineage]'") from None
    if isinstance(option, str):
        return OpenLineageClient(config={"transport": {"type": "http", "url": option}})
    if isinstance(option, Mapping):
        return OpenLineageClient(config=dict(option))
    return OpenLineageClient()


def build_events(record_dir: Path, report: Mapping[str, Any], namespace: str | None = None) -> list[Any]:
    """The OpenLineage events of a record (folder with ``report.json`` data ``report``), in order."""
    from openlineage.common.provider.dbt import ParentRunMetadata, UnsupportedDbtCommand
    from openlineage.dbt import dbt_run_event_end, dbt_run_event_failed, dbt_run_event_start

    from dbt_kickoff.lineage.processor import RecordProcessor

    cloud = report.get("cloud") or {}
    job_namespace = namespace or os.environ.get("OPENLINEAGE_NAMESPACE") or cloud_job_namespace(cloud) or "dbt"
    project = (report.get("package") or {}).get("project_name") or "dbt"
    job_name = f"dbt-cloud-job-{cloud['job_id']}" if cloud else f"dbt-run-{project}"
    start = dbt_run_event_start(job_name=job_name, job_namespace=job_namespace, parent_run_metadata=None)
    start.eventTime = report.get("started_at") or start.eventTime
    parent = ParentRunMetadata(
        run_id=start.run.runId, job_name=job_name, job_namespace=job_namespace, root_parent_run_id=start.run.runId,
        root_parent_job_name=job_name, root_parent_job_namespace=job_namespace,
    )
    manifest_path = record_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.is_file() else None
    node_events: list[Any] = []
    for step in report.get("steps") or ():
        folder = step.get("record_dir")
        results_path = record_dir / folder / "run_results.json" if folder else None
        if manifest is None or results_path is None or not results_path.is_file():
            continue
        run_results = json.loads(results_path.read_text(encoding="utf-8"))
        processor = RecordProcessor(manifest=manifest, run_results=run_results, report=report,
                                    job_namespace=job_namespace)
        processor.dbt_run_metadata = parent
        try:
            node_events += processor.parse().events()
        except UnsupportedDbtCommand:
            continue
    end_event = dbt_run_event_end if report.get("outcome") == "success" else dbt_run_event_failed
    end = end_event(run_id=start.run.runId, job_namespace=job_namespace, job_name=job_name,
                    parent_run_metadata=None)
    end.eventTime = report.get("finished_at") or end.eventTime
    for wrapper in (start, end):
        if node_events:
            for facet in ("dbt_version", "processing_engine", "dbt_run"):
                if facet in node_events[0].run.facets:
                    wrapper.run.facets[facet] = node_events[0].run.facets[facet]
    return [start, *node_events, end]


def cloud_job_namespace(cloud: Mapping[str, Any]) -> str | None:
    """The job namespace of a dbt Cloud run's events: its account and project on its host
    (``dbt-cloud://cloud.getdbt.com/accounts/1/projects/2``)."""
    if not cloud:
        return None
    host = str(cloud.get("access_url") or "").split("://", 1)[-1]
    return f"dbt-cloud://{host}/accounts/{cloud.get('account_id')}/projects/{cloud.get('project_id')}"


def cloud_dataset_namespace(cloud: Mapping[str, Any], adapter: str | None) -> str:
    """The dataset namespace of a dbt Cloud run's tables. dbt Cloud's run API does not say where the warehouse
    is (its host is in the environment's connection, behind other permissions), so the namespace names the
    warehouse by the adapter and the run's environment: ``postgres://dbt-cloud/accounts/1/environments/3``; the
    dataset names come from the manifest (``database.schema.table``)."""
    return f"{adapter or 'dbt'}://dbt-cloud/accounts/{cloud.get('account_id')}/environments/{cloud.get('environment_id')}"


def emit_for_record(record_dir: Path, report: Mapping[str, Any], option: Any) -> int:
    """Emit a record's events through the client ``option`` selects; returns how many were sent.
    A failing transport is logged, never raised (lineage must not fail the run)."""
    client = make_client(option)
    events = build_events(record_dir, report)
    sent = 0
    try:
        for event in events:
            try:
                client.emit(event)
                sent += 1
            except Exception as exc:  # a catalog that is down must not fail the run
                logger.warning("OpenLineage: an event could not be sent (%s); %s more are skipped", exc,
                               len(events) - sent - 1)
                break
    finally:
        if hasattr(client, "close") and client is not option:
            client.close(timeout=10)
    logger.info("OpenLineage: %s event(s) sent", sent)
    return sent
