"""The visual run report: one self-contained HTML file (failures and what they took down, every node, a zoomed
timeline, critical path, resume command) and a terminal summary, both from a run record; and a history page
over the last records of a package."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dbt_kickoff.atomic import write_atomically
from dbt_kickoff.records.catalog import iter_records
from dbt_kickoff.records.reading import Record, RecordNotFound, load_record
from dbt_kickoff.report.history import HistoryData, build_history
from dbt_kickoff.report.history_html import render_history_html
from dbt_kickoff.report.html import render_html
from dbt_kickoff.report.model import ReportData, build_report_data, critical_path
from dbt_kickoff.report.outcome import CallOutcome, call_outcome
from dbt_kickoff.report.terminal import render_outcome, render_terminal

__all__ = ["CallOutcome", "HistoryData", "ReportData", "build_history", "build_report_data", "call_outcome",
           "critical_path", "history_data", "record_location", "render_history_html", "render_html",
           "render_outcome", "render_terminal", "report_data", "write_history_html", "write_html"]


def record_location(record: Record) -> str:
    """Where the record is, for a command to copy: an absolute folder path, or its URL."""
    local = record.store.local_root
    return str((local / record.name).resolve()) if local is not None else record.uri


def report_data(record: Record) -> ReportData:
    """The report contents of a record (its manifest, when it has one, gives the DAG for the critical path)."""
    return build_report_data(record.name, record.data, record.json("manifest.json"), record_location(record))


def write_html(record: Record, output: Path) -> Path:
    """Write the record's HTML report to ``output`` (written whole, then renamed into place). A local record's
    ``dbt.log`` is linked (relative to the report)."""
    local = record.store.local_root
    log = (local / record.name / "dbt.log") if local is not None else None
    href = None
    if log is not None and log.is_file():
        output.parent.mkdir(parents=True, exist_ok=True)
        href = Path(os.path.relpath(log.resolve(), output.parent.resolve())).as_posix()
    return write_atomically(output, render_html(report_data(record), log_href=href), private=False)


def history_data(records: str | Path | None = None, *, project: str | None = None, last: int = 30,
                 storage_options: Mapping[str, Any] | None = None) -> tuple[HistoryData, list[Record]]:
    """The history of the newest ``last`` complete records of ``project`` (default: the project of the newest
    record) under ``records`` (default: the default records root), and those records, newest first."""
    chosen: list[Record] = []
    for entry in iter_records(records, storage_options, project=project):
        if entry.outcome == "incomplete":
            continue
        project = project or entry.project
        if entry.project != project:
            continue
        chosen.append(load_record(entry.store, entry.name))
        if len(chosen) >= last:
            break
    if not chosen:
        where = records if records is not None else "the default records folder"
        raise RecordNotFound(f"no run records{f' of the project {project}' if project else ''} in {where}: "
                             "'dbt-kickoff records' lists them")
    return build_history(project or "", [(record.name, record.data) for record in chosen]), chosen


def write_history_html(data: HistoryData, output: Path) -> Path:
    """Write the history page to ``output`` (written whole, then renamed into place)."""
    return write_atomically(output, render_history_html(data), private=False)
