"""Writes the record of one public runner call: dbt's artifacts per step, ``dbt.log``, and ``report.json``.

The runner calls :meth:`Recorder.step_done` after each dbt command (before the next one overwrites
``target/``) and :meth:`Recorder.finish` once the call ends, however it ends. Nothing here may fail the run:
every error becomes one warning and the run's outcome stands.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import platformdirs

from dbt_kickoff import commands
from dbt_kickoff.errors import DbtCancelled, DBTProcessingError
from dbt_kickoff.records.identity import (
    LATEST_REF,
    RecordIdentity,
    is_complete,
    last_complete_ref,
    last_ref,
    last_success_ref,
    option_value,
    short_hash,
    vars_from_args,
)
from dbt_kickoff.records.store import REPORT_FILE, RecordStore
from dbt_kickoff.redaction import redact_json_text
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


@dataclass
class RunContext:
    """What the recorder needs to know about the runner and its package (no secrets)."""

    package_location: str
    project_dir: Path
    project: Mapping[str, Any]
    project_name: str
    commit_sha: str | None
    dbt_version: str | None
    adapter_type: str | None
    destination: dict[str, Any]
    runner_options: dict[str, Any]
    target_dir: Path
    """Where the call's dbt commands write their artifacts (the runner's target path for its dataset)."""


def _utc_name(moment: datetime, record_id: str) -> str:
    return moment.strftime("%Y%m%dT%H%M%S%f") + "Z-" + record_id


def outcome_of(error: BaseException | None) -> str:
    if error is None:
        return "success"
    if isinstance(error, DbtCancelled):
        return "timeout" if "timed out" in str(error) else "cancelled"
    if isinstance(error, KeyboardInterrupt):
        return "cancelled"
    if isinstance(error, DBTProcessingError):
        return "failed"
    return "error"


class Recorder:
    """Collects one call's artifacts as its steps finish and writes the record when the call ends."""

    def __init__(self, settings: RecordSettings, call: str, params: Mapping[str, Any],
                 context: Callable[[], RunContext], redact: Callable[[str], str]) -> None:
        self.settings = settings
        self.call = call
        self.params = dict(params)
        self.redact = redact
        self.started_at = datetime.now(timezone.utc)
        self.record_id = str(uuid.uuid4())
        self.name = _utc_name(self.started_at, self.record_id)
        self._context_fn = context
        self._context: RunContext | None = None
        self._store: RecordStore | None = None
        self._scratch: Path | None = None
        self._staging: Path | None = None
        self._log_offset: int | None = None
        self._step_dirs: list[str] = []
        self._folder_of: dict[str, str] = {}
        self._failed = False
        self._last_target: Path | None = None
        self._running: list[str] = []
        self._fingerprint: str | None = None
        self.sources_before: dict[str, Any] | None = None
        """What the sources held when a full build started (dlt's newest load per schema, freshness measured
        without dbt): what a later changed-only call compares with."""
        self._note_log_offset()

    # -- hooks the runner calls ---------------------------------------------------------------------------------
    def step_done(self, step: StepReport) -> None:
        """Copy this step's artifacts (run_results.json / sources.json) before the next step overwrites them."""
        self._guard(self._copy_step, step)

    def add_file(self, source: Path, name: str) -> None:
        """Keep a file in the record (a changed-only call's ``sources.json``); call it once a step is done."""
        self._guard(self._copy_file, source, name)

    def _copy_file(self, source: Path, name: str) -> None:
        shutil.copyfile(source, self._staging_dir() / name)

    def finish(self, report: RunReport, error: BaseException | None) -> None:
        """Write the record (and emit lineage). Never raises; a problem is one warning."""
        report.outcome = outcome_of(error)
        report.error = self.redact(str(error)) if error is not None else None
        report.finished_at = datetime.now(timezone.utc)
        report.started_at = report.started_at or self.started_at
        report.call = report.call or self.call
        self._running = _note_cancelled_step(report, error)
        if not report.steps and self._staging is None:
            if error is None:
                return  # no dbt command ran (nothing was loaded...): nothing worth a record
            try:
                self._ctx()
            except Exception:
                return  # stopped before the package could be found: the call's own error says it all
        try:
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
                           where, self.redact(f"{type(exc).__name__}: {exc}"))

    def _ctx(self) -> RunContext:
        if self._context is None:
            self._context = self._context_fn()
        return self._context

    def _log_file(self) -> Path:
        ctx = self._ctx()
        return commands.log_dir(ctx.project_dir, ctx.project) / "dbt.log"

    def _note_log_offset(self) -> None:
        """Where dbt.log ends now, so the record keeps only this call's lines (best effort: a package that
        cannot be resolved yet fails the call itself, and its record keeps the whole log)."""
        try:
            path = self._log_file()
            self._log_offset = path.stat().st_size if path.is_file() else 0
            ctx = self._ctx()
            self._fingerprint = commands.files_fingerprint(ctx.project_dir, ctx.project)
        except Exception:
            self._context = None

    def _identity(self, report: RunReport) -> RecordIdentity:
        ctx = self._ctx()
        args = next((s.args for s in reversed(report.steps) if option_value(s.args, "--vars") or
                     option_value(s.args, "--target")), [])
        dbt_vars = vars_from_args(args)
        return RecordIdentity(
            package_location=ctx.package_location, project_name=ctx.project_name,
            profile_name=option_value(args, "--profile"), target=option_value(args, "--target"),
            adapter_type=ctx.adapter_type, schema=ctx.destination.get("schema"),
            vars_hash=short_hash(dbt_vars), dbt_version=ctx.dbt_version,
        )

    def _store_for(self) -> RecordStore | None:
        if not self.settings.enabled:
            return None
        if self._store is None:
            ctx = self._ctx()
            self._store = self.settings.store(ctx.project_name, short_hash([ctx.package_location, ctx.project_name]))
        return self._store

    def _staging_dir(self) -> Path:
        if self._staging is None:
            store = self._store_for()
            if store is not None and store.local_root is not None:
                self._staging = store.staging_dir(self.name)
            else:  # remote, or lineage only: assembled in a private temporary folder
                self._scratch = Path(tempfile.mkdtemp(prefix="dbt-kickoff-record-"))
                self._staging = self._scratch / self.name
                self._staging.mkdir()
        return self._staging

    def _target(self) -> Path:
        """The target path of the call's last step (else the runner's for the call's dataset)."""
        return self._last_target or self._ctx().target_dir

    def _copy_step(self, step: StepReport) -> None:
        staging = self._staging_dir()
        folder = f"steps/{len(self._step_dirs) + 1:02d}-{step.command.replace(' ', '-')}"
        file = "sources.json" if step.command == "source freshness" else "run_results.json"
        self._last_target = step.target_dir or self._last_target
        source = self._target() / file
        self._step_dirs.append(folder)
        if step.invocation_id:
            self._folder_of[step.invocation_id] = folder
        if step.invocation_id and source.is_file() and _written_by(source, step.invocation_id):
            (staging / folder).mkdir(parents=True, exist_ok=True)
            self._copy_masked(source, staging / folder / file)

    def _copy_interrupted(self, report: RunReport) -> None:
        """A step stopped by a cancel, timeout or error may still have left run_results.json: keep it."""
        source = self._target() / "run_results.json"
        if not source.is_file() or source.stat().st_mtime < self.started_at.timestamp():
            return
        known = {s.invocation_id for s in report.steps}
        try:
            metadata = json.loads(source.read_bytes()).get("metadata", {})
        except json.JSONDecodeError:
            return
        if metadata.get("invocation_id") in known:
            return
        folder = f"steps/{len(self._step_dirs) + 1:02d}-interrupted"
        (self._staging_dir() / folder).mkdir(parents=True, exist_ok=True)
        self._copy_masked(source, self._staging_dir() / folder / "run_results.json")
        self._step_dirs.append(folder)

    def _copy_masked(self, source: Path, destination: Path) -> None:
        """dbt's artifacts may quote a secret (a database error in a node's message): copied masked."""
        text = source.read_text(encoding="utf-8", errors="replace")
        destination.write_text(redact_json_text(text, self.redact), encoding="utf-8")

    def _write(self, report: RunReport, error: BaseException | None) -> None:
        from dbt_kickoff.lineage import emit_for_record, lineage_configured

        store = self._store_for()
        lineage = lineage_configured(self.settings.openlineage)
        if store is None and not lineage:
            return
        self._context = None  # again: the dbt version is known once dbt started
        ctx = self._ctx()
        staging = self._staging_dir()
        if error is not None:
            self._copy_interrupted(report)
        last = next((d for d in reversed(self._step_dirs) if (staging / d / "run_results.json").is_file()), None)
        if last is not None:
            shutil.copyfile(staging / last / "run_results.json", staging / "run_results.json")
        freshness = next((d for d in self._step_dirs if (staging / d / "sources.json").is_file()), None)
        if freshness is not None:
            shutil.copyfile(staging / freshness / "sources.json", staging / "sources.json")
        manifest = self._target() / "manifest.json"
        if manifest.is_file():
            shutil.copyfile(manifest, staging / "manifest.json")
        self._copy_log(staging)
        identity = self._identity(report)
        report.record = store.uri(self.name) if store else None
        data = report.to_dict()
        data.update(
            format=RECORD_FORMAT,
            name=self.name,
            record_id=self.record_id,
            identity=identity.to_dict(),
            fingerprint=self._fingerprint,
            dbt_version=ctx.dbt_version,
            package={"location": ctx.package_location, "project_name": ctx.project_name,
                     "commit_sha": ctx.commit_sha, "project_dir": str(ctx.project_dir)},
            destination=ctx.destination,
            vars=json.loads(self.redact(json.dumps(vars_from_args(_last_args(report)), default=str))),
            params=json.loads(self.redact(json.dumps(self.params, default=str))),
            runner=ctx.runner_options,
            step_dirs=self._step_dirs,
            running=self._running,
            sources_before=self.sources_before,
            duration=(report.finished_at - self.started_at).total_seconds() if report.finished_at else None,
        )
        for step in data["steps"]:
            folder = self._folder_of.get(step.get("invocation_id") or "")
            step["record_dir"] = folder
            step["has_run_results"] = bool(folder and (staging / folder / "run_results.json").is_file())
        data["files"] = sorted(p.relative_to(staging).as_posix() for p in staging.rglob("*") if p.is_file())
        (staging / REPORT_FILE).write_text(json.dumps(data, default=str, separators=(",", ":")), encoding="utf-8")
        if lineage:
            emit_for_record(staging, data, self.settings.openlineage)
        if store is None:
            return
        store.publish(staging, self.name)
        self._staging = None
        store.write_ref(LATEST_REF, self.name)
        store.write_ref(last_ref(identity.package_key), self.name)
        if report.outcome == "success":
            store.write_ref(last_success_ref(identity.state_key), self.name)
        if is_complete(data):  # kept by pruning: changed-only builds compare with it
            store.write_ref(last_complete_ref(identity.state_key), self.name)
        if self.settings.keep_last is not None:
            prune(store, self.settings.keep_last)
        logger.info("run record: %s", report.record)

    def _copy_log(self, staging: Path) -> None:
        path = self._log_file()
        if not path.is_file():
            return
        with path.open("rb") as handle:
            size = path.stat().st_size
            offset = self._log_offset if self._log_offset is not None and self._log_offset <= size else 0
            handle.seek(offset)
            text = handle.read().decode("utf-8", errors="replace")
        (staging / "dbt.log").write_text(self.redact(text), encoding="utf-8")

    def _cleanup(self) -> None:
        store = self._store
        if self._staging is not None and store is not None and store.local_root is not None:
            shutil.rmtree(self._staging, ignore_errors=True)  # a half-written local record never stays
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)


def _note_cancelled_step(report: RunReport, error: BaseException | None) -> list[str]:
    """A cancelled step left no step report: add one with the nodes it finished; return those still running."""
    if not isinstance(error, DbtCancelled):
        return []
    known = {r.unique_id for r in report.results}
    finished = [r for r in error.results if r.unique_id not in known]
    if finished or error.running:
        report.steps.append(StepReport(command=error.command or "cancelled", results=finished, duration=0.0,
                                       success=False))
    return list(error.running)


def _last_args(report: RunReport) -> list[str]:
    return next((s.args for s in reversed(report.steps) if s.args), [])


def _written_by(path: Path, invocation_id: str) -> bool:
    """True when dbt's artifact at ``path`` is the one ``invocation_id`` wrote (its metadata comes first)."""
    with path.open("rb") as handle:
        return invocation_id.encode() in handle.read(4096)


def prune(store: RecordStore, keep_last: int) -> list[str]:
    """Delete all but the newest ``keep_last`` records, sparing those a ref names. Returns what was deleted."""
    names = store.names()
    protected = set(store.refs().values())
    doomed = [name for name in names[: max(0, len(names) - keep_last)] if name not in protected]
    for name in doomed:
        store.delete(name)
    return doomed
