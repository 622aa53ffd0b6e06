"""The record of a dbt Cloud run, in the Core record format: ``<records>/<UTC start>-<id>/`` with the run's
``run_results.json`` per step (under ``steps/``), ``manifest.json``, ``sources.json`` when the job checks
freshness, the steps' logs masked (``dbt.log``) and ``report.json`` (steps with per-node results and timings,
identity, params, outcome) plus a ``cloud`` section: the account, job, run id, link, trigger overrides (never a
secret) and status.

One record per run: its name comes from the run (its creation time and an id derived from the host, account and
run id), so a worker that reattaches to a run after a restart completes the same record, and a later wait on the
same run replaces it. ``dbt-kickoff report`` renders it; ``dbt-kickoff retry`` reruns it from failure.

This module works on plain data (the run as dbt Cloud describes it, the files of its steps): the dbt Cloud runner
collects them and calls :class:`CloudRecord`.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from dbt_kickoff.core.invocations import RecordIdentity, package_key, short_hash
from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.records.reading import Record, load_record
from dbt_kickoff.records.recorder import (
    RECORD_FORMAT,
    RecordSettings,
    default_records_root,
    publish_record,
    record_name,
)
from dbt_kickoff.records.retry_run import merged
from dbt_kickoff.records.store import REPORT_FILE, RecordStore
from dbt_kickoff.redaction import redact_json_text, redact_value
from dbt_kickoff.reports import RunReport, StepReport
from dbt_kickoff.results import NodeResult, parse_run_results, parse_timestamp

logger = logging.getLogger("dbt_kickoff.records")

CLOUD_RUN_CALL = "cloud_run"
CLOUD_RETRY_CALL = "cloud_retry"
RESULT_FILES = ("run_results.json", "sources.json")
SETTINGS_KEYS = ("threads_override", "target_name_override", "schema_override", "dbt_version_override",
                 "generate_docs_override", "timeout_seconds_override", "steps_override", "git_sha", "git_branch",
                 "azure_pull_request_id", "github_pull_request_id", "gitlab_merge_request_id",
                 "non_native_pull_request_id")


@dataclass
class CloudStep:
    """One dbt command of a run as the runner collected it: ``command`` (``build``, ``source freshness``…),
    ``args`` (the command line after ``dbt``), dbt Cloud's ``status`` code and times, its console ``logs`` and
    the ``files`` read from its artifacts (``run_results.json`` or ``sources.json``)."""

    index: int
    name: str
    command: str
    args: list[str]
    status: int
    started_at: str | None
    finished_at: str | None
    logs: str = ""
    files: dict[str, bytes] = field(default_factory=dict)


def cloud_package(access_url: str, account_id: int, job_id: int) -> str:
    """What a Cloud run's record names as its package: the job, on its account and host."""
    return f"dbt-cloud://{access_url.split('://', 1)[-1]}/accounts/{account_id}/jobs/{job_id}"


def cloud_records_store(settings: RecordSettings, state_dir: Path | str | None, account_id: int,
                        job_id: int) -> RecordStore | None:
    """Where records of a job's runs go: ``records=`` (a folder or fsspec URL), by default
    ``<state folder>/records/dbt-cloud-<account>-<job>`` (``dbt-kickoff report latest`` looks there); ``None``
    with ``records=False``."""
    if not settings.enabled:
        return None
    if settings.records is None or settings.records is True:
        root = Path(state_dir) / "records" if state_dir is not None else default_records_root()
        return RecordStore(root / f"dbt-cloud-{account_id}-{job_id}")
    return RecordStore(str(settings.records), settings.storage_options)


def cloud_record_name(access_url: str, account_id: int, run: Mapping[str, Any]) -> str:
    """The record name of a run: the same for every wait on it."""
    created = parse_timestamp(str(run.get("created_at") or "").replace(" ", "T")) or datetime.now(timezone.utc)
    record_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{access_url}/{account_id}/runs/{run['id']}")
    return record_name(created.astimezone(timezone.utc), str(record_id))


def _outcome(status: int, error: BaseException | None, timed_out: bool) -> str:
    """Core's outcomes: ``success``, ``failed`` (status 20), ``cancelled``, ``timeout`` (the wait's or dbt
    Cloud's own), ``error``."""
    if timed_out:
        return "timeout"
    if status == 10 and error is None:
        return "success"
    if status == 20:
        return "failed"
    return "cancelled" if status == 30 else "error"


class CloudRecord:
    """The record of one run (see the module docstring). :meth:`begin` leaves ``started.json`` when the wait
    starts; :meth:`write` writes the record once the run ended (or the wait gave up). Nothing here fails the wait:
    a problem is one warning."""

    def __init__(self, settings: RecordSettings, store: RecordStore | None, *, access_url: str, account_id: int,
                 run: Mapping[str, Any], redact: Callable[[str], str], params: Mapping[str, Any],
                 retry_of: Record | None = None, retried_run: int | None = None) -> None:
        self.settings = settings
        self.store = store
        self.access_url = access_url
        self.account_id = account_id
        self.run_id = int(run["id"])
        self.name = cloud_record_name(access_url, account_id, run)
        self.redact = redact
        self.params = dict(params)
        self.retry_of = retry_of
        self.retried_run = retried_run
        self.folder: Path | None = None
        self.data: dict[str, Any] | None = None
        self._failed = False

    def _guard(self, action: Callable[..., None], *args: Any) -> None:
        if self._failed:
            return
        try:
            action(*args)
        except Exception as exc:
            self._failed = True
            where = self.store.uri() if self.store is not None else "a temporary folder"
            logger.warning("the record of dbt Cloud run %s could not be written to %s (the run itself is not "
                           "affected): %s", self.run_id, where, self.redact(f"{type(exc).__name__}: {exc}"))

    def begin(self) -> None:
        """Leave ``started.json`` in the store: this run is being waited for."""
        self._guard(self._begin)

    def _begin(self) -> None:
        if self.store is None:
            return
        content = {"name": self.name, "call": CLOUD_RETRY_CALL if self.retried_run else CLOUD_RUN_CALL,
                   "run_id": self.run_id, "started_at": datetime.now(timezone.utc).isoformat()}
        self.store.mark_started(self.name, json.dumps(content).encode())

    def write(self, run: Mapping[str, Any], steps: Sequence[CloudStep], manifest: bytes | None,
              error: BaseException | None, previous_results: Sequence[NodeResult] = (),
              timed_out: bool = False) -> None:
        """Write the record of ``run`` (as dbt Cloud describes it, with ``trigger`` and ``job``): its ``steps``,
        the ``manifest`` of its last step, ``error`` (what the wait raised, if anything; ``timed_out``: the wait
        or dbt Cloud gave up on time). A retry's record merges ``previous_results`` (the retried run's nodes)
        with its own."""
        self._guard(self._write, run, steps, manifest, error, previous_results, timed_out)

    def _staging(self) -> Path:
        if self.store is not None and self.store.local_root is not None:
            return self.store.staging_dir(self.name)
        return Path(tempfile.mkdtemp(prefix="dbt-kickoff-cloud-record-")) / self.name

    def _write(self, run: Mapping[str, Any], steps: Sequence[CloudStep], manifest: bytes | None,
               error: BaseException | None, previous_results: Sequence[NodeResult], timed_out: bool) -> None:
        staging = self._staging()
        staging.mkdir(parents=True, exist_ok=True)
        step_reports, step_dirs = self._steps(staging, steps)
        for file in RESULT_FILES:
            found = [d for d in step_dirs if (staging / d / file).is_file()]
            if found:
                pick = found[-1] if file == "run_results.json" else found[0]
                shutil.copyfile(staging / pick / file, staging / file)
        project_name = str((run.get("job") or {}).get("name") or f"job {run.get('job_definition_id')}")
        adapter = None
        if manifest:
            (staging / "manifest.json").write_bytes(manifest)
            metadata = json.loads(manifest).get("metadata") or {}
            project_name = str(metadata.get("project_name") or project_name)
            adapter = metadata.get("adapter_type")
        log = "\n".join(f"=== step {s.index}: {s.name} ===\n{s.logs}" for s in steps if s.logs)
        (staging / "dbt.log").write_text(self.redact(log), encoding="utf-8")
        data = self._report(run, step_reports, step_dirs, error, project_name, adapter, previous_results, timed_out)
        for step, folder in zip(data["steps"], step_dirs, strict=True):
            step["record_dir"] = folder
            step["has_run_results"] = (staging / folder / "run_results.json").is_file()
        data["files"] = sorted(p.relative_to(staging).as_posix() for p in staging.rglob("*") if p.is_file())
        (staging / REPORT_FILE).write_text(json.dumps(data, default=str, separators=(",", ":")), encoding="utf-8")
        self.data = data
        if self.store is None:
            self.folder = staging
            return
        if self.name in self.store.names():  # an earlier wait on this run recorded it: this one knows more
            self.store.delete(self.name)
        identity = RecordIdentity.from_dict(data["identity"])
        publish_record(self.store, staging, self.name, data, identity, self.settings.keep_last)
        self.folder = self.store.local_root / self.name if self.store.local_root is not None else staging
        logger.info("run record: %s", self.store.uri(self.name))

    def _steps(self, staging: Path, steps: Sequence[CloudStep]) -> tuple[list[StepReport], list[str]]:
        reports, folders = [], []
        for number, step in enumerate(steps, start=1):
            folder = f"steps/{number:02d}-{step.command.replace(' ', '-')}"
            results: list[NodeResult] = []
            invocation_id = None
            for file in RESULT_FILES:
                content = step.files.get(file)
                if not content:
                    continue
                text = redact_json_text(content.decode("utf-8", errors="replace"), self.redact)
                (staging / folder).mkdir(parents=True, exist_ok=True)
                (staging / folder / file).write_text(text, encoding="utf-8")
                document = json.loads(text)
                results = parse_run_results(document)
                invocation_id = (document.get("metadata") or {}).get("invocation_id")
            started = parse_timestamp(str(step.started_at or "").replace(" ", "T"))
            finished = parse_timestamp(str(step.finished_at or "").replace(" ", "T"))
            duration = (finished - started).total_seconds() if started and finished else 0.0
            reports.append(StepReport(
                command=step.command, results=results, duration=duration, args=[self.redact(a) for a in step.args],
                invocation_id=invocation_id, started_at=started,
                success=None if step.status not in (10, 20, 30) else step.status == 10,
            ))
            folders.append(folder)
        return reports, folders

    def _report(self, run: Mapping[str, Any], steps: list[StepReport], step_dirs: list[str],
                error: BaseException | None, project_name: str, adapter: str | None,
                previous_results: Sequence[NodeResult], timed_out: bool) -> dict[str, Any]:
        trigger: Mapping[str, Any] = run.get("trigger") or {}
        job: Mapping[str, Any] = run.get("job") or {}
        job_id = int(run.get("job_definition_id") or run.get("job_id") or 0)
        overrides = {key: trigger[key] for key in SETTINGS_KEYS if trigger.get(key) is not None}
        started = parse_timestamp(str(run.get("started_at") or run.get("created_at") or "").replace(" ", "T"))
        finished = parse_timestamp(str(run.get("finished_at") or "").replace(" ", "T"))
        status = int(run.get("status") or 0)
        report = RunReport(
            steps=steps, commit_sha=run.get("git_sha"),
            call=CLOUD_RETRY_CALL if self.retried_run else CLOUD_RUN_CALL, started_at=started,
            finished_at=finished or datetime.now(timezone.utc), outcome=_outcome(status, error, timed_out),
            error=self.redact(str(error)) if error is not None else None,
            record=self.store.uri(self.name) if self.store else None,
        )
        location = cloud_package(self.access_url, self.account_id, job_id)
        target = overrides.get("target_name_override") or (job.get("settings") or {}).get("target_name")
        identity = RecordIdentity(
            package_location=location, project_name=project_name, profile_name=None, target=target,
            adapter_type=adapter, schema=overrides.get("schema_override"),
            vars_hash=short_hash(sorted(overrides.get("steps_override") or job.get("execute_steps") or [])),
            dbt_version=run.get("dbt_version"), location=short_hash([self.access_url, self.account_id,
                                                                     run.get("environment_id")]),
        )
        data = report.to_dict()
        data.update(
            format=RECORD_FORMAT, name=self.name, record_id=self.name.split("Z-", 1)[-1],
            identity=identity.to_dict(), fingerprint=None, dbt_version=run.get("dbt_version"),
            package={"location": location, "project_name": project_name, "commit_sha": run.get("git_sha"),
                     "project_dir": None, "package_key": package_key(location, project_name)},
            destination={"type": adapter, "adapter_type": adapter, "output": {"type": adapter} if adapter else {}},
            vars={}, params=redact_value(json.loads(json.dumps(self.params, default=str)), self.redact),
            runner={"target": target}, step_dirs=step_dirs, running=[], sources_before=None,
            retry=self._retry(steps, previous_results),
            duration=(report.finished_at - started).total_seconds() if started and report.finished_at else None,
            cloud=self._cloud(run, job, overrides, trigger, status),
        )
        return data

    def _cloud(self, run: Mapping[str, Any], job: Mapping[str, Any], overrides: Mapping[str, Any],
               trigger: Mapping[str, Any], status: int) -> dict[str, Any]:
        cause = str(trigger.get("cause") or "")
        return redact_value({
            "access_url": self.access_url, "account_id": self.account_id, "project_id": run.get("project_id"),
            "environment_id": run.get("environment_id"), "job_id": run.get("job_definition_id"),
            "job_name": job.get("name"), "run_id": self.run_id, "href": run.get("href"), "status": status,
            "status_humanized": run.get("status_humanized"), "status_message": run.get("status_message"),
            "git_branch": run.get("git_branch"), "git_sha": run.get("git_sha"),
            "trigger": {"cause": cause, "cause_category": trigger.get("cause_category"), "overrides": overrides},
            "retrying_run_id": run.get("retrying_run_id"),
        }, self.redact)

    def _retry(self, steps: list[StepReport], previous: Sequence[NodeResult]) -> dict[str, Any] | None:
        """A rerun's link in its chain: the record it retried (by URI), the chain's first record, the rerun run
        and every node's latest result over the chain (``merged``)."""
        if self.retried_run is None:
            return None
        of = self.retry_of.uri if self.retry_of is not None else None
        chain = self.retry_of.data.get("retry") or {} if self.retry_of is not None else {}
        later = [r for step in steps for r in step.results]
        return {"of": of, "root": chain.get("root") or of, "pending": [], "run_id": self.retried_run,
                "merged": [r.to_dict() for r in merged(list(previous), later)]}


def previous_results(record: Record) -> list[NodeResult]:
    """Every node's latest result a record holds: a retry's merged chain, else its own results."""
    chain = record.data.get("retry") or {}
    return [NodeResult.from_dict(r) for r in chain.get("merged") or ()] or record.report.results


def find_cloud_record(store: RecordStore | None, access_url: str, account_id: int,
                      run: Mapping[str, Any]) -> Record | None:
    """The record of ``run`` in ``store``, when there is one."""
    if store is None:
        return None
    name = cloud_record_name(access_url, account_id, run)
    try:
        return load_record(store, name)
    except (ConfigurationError, OSError):  # no record, a half-written one, an unreachable store: none to use
        return None
