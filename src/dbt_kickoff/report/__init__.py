"""The visual run report: one self-contained HTML file (failures and what they took down, every node, a zoomed
timeline, critical path, resume command) and a terminal summary, both from a run record; and a history page
over the last records of a package."""

from __future__ import annotations

import os
from pathlib import Path

from dbt_kickoff.records.reading import Record
from dbt_kickoff.report.html import render_html
from dbt_kickoff.report.model import ReportData, build_report_data, critical_path
from dbt_kickoff.report.outcome import CallOutcome, call_outcome
from dbt_kickoff.report.terminal import render_outcome, render_terminal

__all__ = ["CallOutcome", "ReportData", "build_report_data", "call_outcome", "critical_path", "record_location",
           "render_html", "render_outcome", "render_terminal", "report_data", "write_html"]


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
    output.parent.mkdir(parents=True, exist_ok=True)
    local = record.store.local_root
    log = (local / record.name / "dbt.log") if local is not None else None
    href = None
    if log is not None and log.is_file():
        href = Path(os.path.relpath(log.resolve(), output.parent.resolve())).as_posix()
    tmp = output.with_name(f".{output.name}.tmp")
    tmp.write_text(render_html(report_data(record), log_href=href), encoding="utf-8")
    tmp.replace(output)
    return output
