"""What ``run`` and ``retry`` print when a call ends: the results table (skipped nodes included), then, when it
failed, one block per failing node with dbt's whole message and what it took down, the steps not run, the
record and the command that resumes the call — and one short ``error:`` line last.

The table goes to stdout, everything else to stderr. Off a terminal every line is whole (no wrapping).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dbt_kickoff.cli.destination import secrets_in
from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.progress import console_for, results_table
from dbt_kickoff.records import open_record
from dbt_kickoff.records.store import is_url
from dbt_kickoff.report.outcome import CallOutcome, call_outcome, destination_needs_secrets
from dbt_kickoff.report.terminal import render_outcome
from dbt_kickoff.reports import RunReport

EXIT_FAILED = 1


def destination_flags(args: argparse.Namespace) -> list[str]:
    """How ``retry`` gets the destination's credentials again: the same flag the call got them from."""
    if getattr(args, "destination_env", None):
        return ["--destination-env", args.destination_env]
    if getattr(args, "destination_file", None):
        return ["--destination-file", str(Path(args.destination_file).expanduser().resolve())]
    if getattr(args, "destination", None) and secrets_in(args.destination):
        return ["--destination-env", "NAME"]  # a variable holding the URL: a password is not put on argv again
    return []  # the record's destination, or $DBT_KICKOFF_DESTINATION as for run


def _record_uri(report: RunReport) -> str | None:
    if not report.record:
        return None
    return report.record if is_url(report.record) else str(Path(report.record).resolve())


def outcome_of(report: RunReport, args: argparse.Namespace, params: Mapping[str, Any],
               manifest_dir: Path | None = None) -> CallOutcome:
    """The failure side of the call that just ended, from its record when it left one (the same view as
    ``dbt-kickoff report``), else from ``report`` and the manifest in ``manifest_dir``."""
    record_uri = _record_uri(report)
    data: dict[str, Any] = {**report.to_dict(), "params": dict(params)}
    manifest: Mapping[str, Any] | None = None
    if record_uri is not None:
        try:
            record = open_record(record_uri)
            data, manifest = dict(record.data), record.json("manifest.json")
        except ConfigurationError:
            pass
    if manifest is None and manifest_dir is not None and (manifest_dir / "manifest.json").is_file():
        manifest = json.loads((manifest_dir / "manifest.json").read_text(encoding="utf-8"))
    flags = destination_flags(args)
    needs = destination_needs_secrets(data) or bool(flags)
    data["record"] = record_uri
    return call_outcome(data, manifest, destination_flags=flags if needs else [])


def print_outcome(report: RunReport, outcome: CallOutcome, title: str = "dbt results") -> None:
    """The results table (stdout), then the failure side and the changed-only line (stderr)."""
    console_for().print(results_table(report.results, title=title))
    errors = console_for(stderr=True)
    if report.changed is not None:
        errors.print(report.changed.describe(), highlight=False)
    if outcome.failed:
        errors.print(render_outcome(outcome), highlight=False)
        if outcome.record is None:
            errors.print("no record of this call (records are off): to resume, run it again", highlight=False)


def report_failure(report: RunReport, outcome: CallOutcome) -> int:
    """Print the call's failure (see :func:`print_outcome`) and its one ``error:`` line; returns exit status 1."""
    print_outcome(report, outcome)
    print(f"error: {outcome.headline(report.call)}", file=sys.stderr)
    return EXIT_FAILED
