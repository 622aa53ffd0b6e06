"""Writes the record of one call: dbt's artifacts per step, ``dbt.log``, and ``report.json``.

:class:`~dbt_kickoff.records.hook.RecordsHook` makes a :class:`Recorder` when a call starts, calls
:meth:`Recorder.step_done` after each dbt command (before the next one overwrites the target folder) and
:meth:`Recorder.finish` once the call ends, however it ends. Nothing here may fail the run: every error becomes
one warning and the run's outcome stands.
"""

from __future__ import annotations

import json
import logging
import shutil
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import platformdirs

from dbt_kickoff.core.call import Call
from dbt_kickoff.core.invocations import as_received, package_key
from dbt_kickoff.engines.artifacts import invocation_of, written_by
from dbt_kickoff.records.identity import (
    LATEST_REF,
    RecordIdentity,
    is_complete,
    last_complete_ref,
    last_ref,
    last_success_ref,
)
from dbt_kickoff.records.store import REPORT_FILE, RecordStore
from dbt_kickoff.redaction import redact_json_text, redact_value
from dbt_kickoff.reports import RunReport, StepReport

logger = logging.getLogger("dbt_kickoff.records")

RECORD_FORMAT = 1
DEFAULT_KEEP_LAST = 50


def default_records_root() -> Path:
    """Where records go when ``records=`` is not given: ``<user state dir>/dbt-kickoff/records``."""
    return Path(platformdirs.user_state_dir("dbt-kickoff")) / "records"


@dataclass(frozen=True)
class RecordSettings:
    """``records``: a folder or fsspec URL, ``None`` for the default folder, ``False`` for no records.
    ``keep_last``: how many records of the store to keep (records named by a ref — the last good run of each
    package/target/vars — are kept too). ``openlineage``: see :mod:`dbt_kickoff.lineage`."""

    records: str | Path | bool | None = None
    keep_last: int | None = DEFAULT_KEEP_LAST
    storage_options: Mapping[str, Any] = field(default_factory=dict)
    openlineage: Any = None

    @property
    def enabled(self) -> bool:
        return self.records is not False

    def store(self, project_name: str, package_key: str) -> RecordStore:
        if self.records is None or self.records is True:
            return RecordStore(default_records_root() / f"{project_name}-{package_key[:8]}")
        return RecordStore(str(self.records), self.storage_options)


def _utc_name(moment: datetime, record_id: str) -> str:
    return moment.strftime("%Y%m%dT%H%M%S%f") + "Z-" + record_id


class Recorder:
    """Collects one call's artifacts as its steps finish and writes the record when the call ends."""

    def __init__(self, settings: RecordSettings, call: Call, write_lineage: bool = False) -> None:
        self.settings = settings
        self.call = call
        self.write_lineage = write_lineage
        self.started_at = call.started_at
        self.record_id = str(uuid.uuid4())
        self.name = _utc_name(self.started_at, self.record_id)
        self.folder: Path | None = None
        """The finished record as a local folder (the store's, or a copy in the call's scratch), once written."""
        self.data: dict[str, Any] | None = None
        """The record's ``report.json``, once written."""
        self._store: RecordStore | None = None
        self._staging: Path | None = None
        self._step_dirs: list[str] = []
        self._folder_of: dict[str, str] = {}
        self._failed = False
        self._marked = False
        self._last_target: Path | None = None
        log = call.project.log_file
        self._log_offset = log.stat().st_size if log.is_file() else 0
        self._fingerprint = call.project.fingerprint

    # -- hooks --------------------------------------------------------------------------------------------------
    def mark_started(self) -> None:
        """Before the call's first dbt command: leave ``started.json`` in the store, so that a call killed from
        now on (SIGKILL, OOM) is seen by the next changed-only call, which then builds what it may have touched."""
        self._guard(self._mark_started)

    def _mark_started(self) -> None:
        store = self._store_for()
        if store is None:
            return
        content = {"name": self.name, "call": self.call.name, "started_at": self.started_at.isoformat(),
                   "identity": self.call.identity(start_dbt=False).to_dict()}
        store.mark_started(self.name, json.dumps(content).encode())
        self._marked = True
        if store.local_root is not None:
            self._staging = store.staging_dir(self.name)

    def step_done(self, step: StepReport) -> None:
        """Copy this step's artifacts (run_results.json / sources.json) before the next step overwrites them."""
        self._guard(self._copy_step, step)

    def finish(self, error: BaseException | None) -> None:
        """Write the record. Never raises; a problem is one warning."""
        report = self.call.report
        try:
            if report.steps or error is not None:  # else no dbt step ran (nothing changed...): no record
                self._guard(self._write, report, error)
        finally:
            self._cleanup()

    # -- internals ----------------------------------------------------------------------------------------------
    def _guard(self, action: Callable[..., None], *args: Any) -> None:
        if self._failed:
            return
        try:
            action(*args)
        except Exception as exc:
            self._failed = True
            where = self.settings.records if self.settings.records not in (None, True) else "the default folder"
            logger.warning("the run record could not be written to %s (the run itself is not affected): %s",
                           where, self.call.redact(f"{type(exc).__name__}: {exc}"))

    def _store_for(self) -> RecordStore | None:
        if not self.settings.enabled:
            return None
        if self._store is None:
            project = self.call.project
            self._store = self.settings.store(project.name, package_key(project.location, project.name))
        return self._store

    def _staging_dir(self) -> Path:
        if self._staging is None:
            store = self._store_for()
            if store is not None and store.local_root is not None:
                self._staging = store.staging_dir(self.name)
            else:  # remote, or lineage only: assembled in the call's private scratch folder
                self._staging = self.call.scratch / "record" / self.name
                self._staging.mkdir(parents=True)
        return self._staging

    def _target(self) -> Path:
        """The target path of the call's last step (else the call's)."""
        return self._last_target or self.call.target_dir

    def _copy_step(self, step: StepReport) -> None:
        staging = self._staging_dir()
        folder = f"steps/{len(self._step_dirs) + 1:02d}-{step.command.replace(' ', '-')}"
        file = "sources.json" if step.command == "source freshness" else "run_results.json"
        self._last_target = step.target_dir or self._last_target
        source = self._target() / file
        self._step_dirs.append(folder)
        if step.invocation_id:
            self._folder_of[step.invocation_id] = folder
        if written_by(source, step.invocation_id):
            (staging / folder).mkdir(parents=True, exist_ok=True)
            self._copy_masked(source, staging / folder / file)

    def _copy_interrupted(self, report: RunReport) -> None:
        """A step stopped by a cancel, timeout or error may still have left run_results.json: keep it."""
        source = self._target() / "run_results.json"
        if not source.is_file() or source.stat().st_mtime < self.started_at.timestamp():
            return
        if invocation_of(source) in {s.invocation_id for s in report.steps}:
            return
        folder = f"steps/{len(self._step_dirs) + 1:02d}-interrupted"
        (self._staging_dir() / folder).mkdir(parents=True, exist_ok=True)
        self._copy_masked(source, self._staging_dir() / folder / "run_results.json")
        self._step_dirs.append(folder)

    def _copy_masked(self, source: Path, destination: Path) -> None:
        """dbt's artifacts may quote a secret (a database error in a node's message): copied masked."""
        text = source.read_text(encoding="utf-8", errors="replace")
        destination.write_text(redact_json_text(text, self.call.redact), encoding="utf-8")

    def _write(self, report: RunReport, error: BaseException | None) -> None:
        store = self._store_for()
        if store is None and not self.write_lineage:
            return
        call = self.call
        ctx = call.context  # the dbt version is known once dbt started
        staging = self._staging_dir()
        if error is not None:
            self._copy_interrupted(report)
        last = next((d for d in reversed(self._step_dirs) if (staging / d / "run_results.json").is_file()), None)
        if last is not None:
            shutil.copyfile(staging / last / "run_results.json", staging / "run_results.json")
        if report.steps:
            for name, path in call.record_files.items():
                shutil.copyfile(path, staging / name)
        freshness = next((d for d in self._step_dirs if (staging / d / "sources.json").is_file()), None)
        if freshness is not None:
            shutil.copyfile(staging / freshness / "sources.json", staging / "sources.json")
        manifest = self._target() / "manifest.json"
        if manifest.is_file():
            shutil.copyfile(manifest, staging / "manifest.json")
        self._copy_log(staging)
        identity = call.identity(start_dbt=False)
        report.record = store.uri(self.name) if store else None
        data = report.to_dict()
        redact = call.redact
        data.update(
            format=RECORD_FORMAT,
            name=self.name,
            record_id=self.record_id,
            identity=identity.to_dict(),
            fingerprint=self._fingerprint,
            dbt_version=ctx.dbt_version,
            package={"location": ctx.package_location, "project_name": ctx.project_name,
                     "commit_sha": ctx.commit_sha, "project_dir": str(ctx.project_dir)},
            destination=redact_value(json.loads(json.dumps(ctx.destination, default=str)), redact),
            vars=redact_value(as_received(call.variables), redact),
            params=redact_value(json.loads(json.dumps(call.params, default=str)), redact),
            runner=ctx.runner_options,
            step_dirs=self._step_dirs,
            running=self.call.running,
            sources_before=call.record_extras.get("sources_before"),
            retry=call.record_extras.get("retry"),
            duration=(report.finished_at - self.started_at).total_seconds() if report.finished_at else None,
        )
        for step in data["steps"]:
            folder = self._folder_of.get(step.get("invocation_id") or "")
            step["record_dir"] = folder
            step["has_run_results"] = bool(folder and (staging / folder / "run_results.json").is_file())
        data["files"] = sorted(p.relative_to(staging).as_posix() for p in staging.rglob("*") if p.is_file())
        (staging / REPORT_FILE).write_text(json.dumps(data, default=str, separators=(",", ":")), encoding="utf-8")
        self.data = data
        if store is None:
            self.folder = staging
            return
        publish_record(store, staging, self.name, data, identity, self.settings.keep_last)
        self._marked = False
        self.folder = store.local_root / self.name if store.local_root is not None else staging
        if store.local_root is not None:
            self._staging = None
        logger.info("run record: %s", report.record)

    def _copy_log(self, staging: Path) -> None:
        path = self.call.project.log_file
        if not path.is_file():
            return
        with path.open("rb") as handle:
            size = path.stat().st_size
            offset = self._log_offset if self._log_offset <= size else 0
            handle.seek(offset)
            text = handle.read().decode("utf-8", errors="replace")
        (staging / "dbt.log").write_text(self.call.redact(text), encoding="utf-8")

    def _cleanup(self) -> None:
        """A half-written local record never stays (a remote one is assembled in the call's scratch folder), nor
        the marker of a call that ended without a record."""
        store = self._store
        if self._staging is not None and store is not None and store.local_root is not None:
            shutil.rmtree(self._staging, ignore_errors=True)
        if self._marked and store is not None:
            self._guard(store.unmark_started, self.name)


def record_name(moment: datetime, record_id: str) -> str:
    """A record's folder name: its UTC start, then its id (names sort by start)."""
    return _utc_name(moment, record_id)


def publish_record(store: RecordStore, staging: Path, name: str, data: Mapping[str, Any], identity: RecordIdentity,
                   keep_last: int | None) -> None:
    """Move an assembled record into ``store``, point the refs at it (the latest, the last of its package and
    target, the last good and last complete run of its state) and prune the store to ``keep_last``."""
    store.publish(staging, name)
    store.write_ref(LATEST_REF, name)
    store.write_ref(last_ref(identity.retry_key), name)
    if data.get("outcome") == "success":
        store.write_ref(last_success_ref(identity.state_key), name)
    if is_complete(data):  # kept by pruning: changed-only builds compare with it
        store.write_ref(last_complete_ref(identity.state_key), name)
    if keep_last is not None:
        prune(store, keep_last)


def prune(store: RecordStore, keep_last: int) -> list[str]:
    """Delete all but the newest ``keep_last`` records, sparing those a ref names. Returns what was deleted."""
    names = store.names()
    protected = set(store.refs().values())
    doomed = [name for name in names[: max(0, len(names) - keep_last)] if name not in protected]
    for name in doomed:
        store.delete(name)
    return doomed
