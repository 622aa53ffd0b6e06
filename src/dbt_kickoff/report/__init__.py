"""The visual run report: one self-contained HTML file (timeline, critical path, slowest nodes, failures) and
a terminal summary, both from a run record."""

from __future__ import annotations

from pathlib import Path

from dbt_kickoff.atomic import write_atomically
from dbt_kickoff.records.reading import Record
from dbt_kickoff.report.html import render_html
from dbt_kickoff.report.model import ReportData, build_report_data, critical_path
from dbt_kickoff.report.terminal import render_terminal

__all__ = ["ReportData", "build_report_data", "critical_path", "render_html", "render_terminal",
           "report_data", "write_html"]


def report_data(record: Record) -> ReportData:
    """The report contents of a record (its manifest, when it has one, gives the DAG for the critical path)."""
    return build_report_data(record.name, record.data, record.json("manifest.json"))


def write_html(record: Record, output: Path) -> Path:
    """Write the record's HTML report to ``output`` (written whole, then renamed into place)."""
    return write_atomically(output, render_html(report_data(record)), private=False)
