"""``dbt-kickoff records``: the run records under the records root, newest first (names for report/retry)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.table import Table

from dbt_kickoff.cli.options import CLI_OPTIONS
from dbt_kickoff.cli.report import add_records_argument, storage_options
from dbt_kickoff.progress import STATUS_STYLES, console_for
from dbt_kickoff.records import default_records_root
from dbt_kickoff.records.catalog import OUTCOME_FILTERS, RecordEntry, list_records
from dbt_kickoff.validation import cli_text, cli_type

OUTCOME_STYLES = {**STATUS_STYLES, "failed": "bold red", "cancelled": "yellow", "timeout": "yellow",
                  "incomplete": "dim"}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "records", help="list run records, newest first (their names work with report and retry)",
        description="List the run records under the records root (default: dbt-kickoff's state folder, one "
                    "folder per package), newest first: start time, project, call, outcome, duration and name. "
                    "'dbt-kickoff report NAME' and 'dbt-kickoff retry NAME' take a name from this list.",
    )
    parser.add_argument("--project", type=cli_text("--project"), help="only records of this dbt project")
    parser.add_argument("--outcome", choices=OUTCOME_FILTERS,
                        help="ok: successful calls; failed: failed, stopped or errored ones")
    parser.add_argument("--limit", type=cli_type(CLI_OPTIONS, "limit", "--limit"), default=20,
                        help="how many to list (default: 20)")
    add_records_argument(parser)
    parser.add_argument("--json", action="store_true", help="print the list as JSON on stdout")
    parser.set_defaults(handler=handle_records)


def _seconds(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.1f}s" if value < 60 else f"{int(value // 60)}m{value % 60:02.0f}s"


def records_table(entries: list[RecordEntry]) -> Table:
    table = Table(title=None, box=None, pad_edge=False)
    for column in ("started (UTC)", "project", "call", "outcome", "duration", "nodes", "name"):
        table.add_column(column, no_wrap=True, justify="right" if column in ("duration", "nodes") else "left")
    for entry in entries:
        style = OUTCOME_STYLES.get(entry.outcome or "", "")
        table.add_row(entry.started_at.strftime("%Y-%m-%d %H:%M:%S"), entry.project or "", entry.call or "",
                      f"[{style}]{entry.outcome or ''}[/]", _seconds(entry.duration), str(entry.nodes), entry.name)
    return table


def handle_records(args: argparse.Namespace) -> int:
    entries = list_records(args.records, storage_options(args), project=args.project, outcome=args.outcome,
                           limit=args.limit)
    if args.json:
        print(json.dumps([entry.to_dict() for entry in entries], indent=2))
        return 0
    where = args.records or default_records_root()
    console = console_for()
    if not entries:
        console.print(f"no run records under {where}" + (" that match" if args.project or args.outcome else ""),
                      highlight=False)
        return 0
    console.print(records_table(entries))
    console_for(stderr=True).print(f"records under {where}; open one with: dbt-kickoff report NAME "
                                   "(or retry NAME)", highlight=False)
    return 0
