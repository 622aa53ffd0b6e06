"""``dbt-kickoff report``: a run record as one self-contained HTML page and a terminal summary."""

from __future__ import annotations

import argparse
import json
import webbrowser
from pathlib import Path
from typing import Any

from dbt_kickoff.cli.options import CLI_OPTIONS
from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.progress import console_for
from dbt_kickoff.records import open_record
from dbt_kickoff.report import history_data, report_data, write_history_html, write_html
from dbt_kickoff.report.terminal import render_terminal
from dbt_kickoff.validation import cli_text, cli_type


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report", help="turn a run record into an HTML report (failures, every node, timeline); --history: a "
        "page over a project's last records",
        description="Write one self-contained HTML file for a run record and print a summary. RECORD is a "
                    "record folder or URL, a record name (see dbt-kickoff records), or 'latest' (the default). "
                    "With --history: one page over the last records of a project.",
    )
    parser.add_argument("record", nargs="?", default="latest",
                        help="record folder/URL, name (see dbt-kickoff records), or 'latest'")
    add_records_argument(parser)
    parser.add_argument("--output", "-o", help="HTML file to write (default: report.html in a local record "
                        "folder, else ./<record>.html)")
    parser.add_argument("--open", action="store_true", help="open the report in a browser")
    parser.add_argument("--json", action="store_true", help="print the record's report.json on stdout")
    history = parser.add_argument_group("history page (--history)")
    history.add_argument("--history", action="store_true",
                         help="one HTML page over the last records of a project: durations per node over time, "
                         "failure streaks, slowest-growing models")
    history.add_argument("--project", type=cli_text("--project"),
                         help="the dbt project (default: the newest record's)")
    history.add_argument("--last", type=cli_type(CLI_OPTIONS, "limit", "--last"), default=30, metavar="N",
                         help="how many of its newest records (default: 30)")
    parser.set_defaults(handler=handle_report)


def add_records_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--records", help="records folder or fsspec URL (default: dbt-kickoff's state folder)")
    parser.add_argument("--records-option", action="append", default=[], metavar="KEY=VALUE",
                        help="fsspec storage option, e.g. endpoint_url=http://127.0.0.1:9000 (repeatable)")


def storage_options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for item in args.records_option:
        key, _, value = item.partition("=")
        if key == "endpoint_url":
            options.setdefault("client_kwargs", {})["endpoint_url"] = value
        else:
            options[key] = value
    return options


def handle_history(args: argparse.Namespace) -> int:
    if args.record != "latest" or args.json:
        raise ConfigurationError("--history takes no RECORD and no --json: pick records with --project and --last")
    data, records = history_data(args.records, project=args.project, last=args.last,
                                 storage_options=storage_options(args))
    local = records[0].store.local_root
    name = f"history-{data.project or 'dbt'}.html"
    output = write_history_html(data, Path(args.output) if args.output else (local / name if local else Path(name)))
    console = console_for(stderr=True)
    failed = sum(run.outcome != "success" for run in data.runs)
    console.print(f"{data.project}: {len(data.runs)} run(s), {failed} failed, {len(data.nodes)} node(s)",
                  highlight=False)
    for node in data.streaks()[:10]:
        console.print(f"  failing {node.failure_streak} run(s) in a row: {node.resource_type} {node.name}",
                      highlight=False)
    for node in data.growing(5):
        console.print(f"  growing +{node.growth:.3f}s per run: {node.resource_type} {node.name}", highlight=False)
    console.print(f"history page: {output.resolve()}", highlight=False)
    if args.open:
        webbrowser.open(output.resolve().as_uri())
    return 0


def handle_report(args: argparse.Namespace) -> int:
    if args.history:
        return handle_history(args)
    record = open_record(args.record, args.records, storage_options(args))
    if args.json:
        print(json.dumps(record.data, indent=2, default=str))
        return 0
    local = record.store.local_root
    default = (local / record.name / "report.html") if local is not None else Path(f"{record.name}.html")
    output = write_html(record, Path(args.output) if args.output else default)
    console = console_for(stderr=True)
    data = report_data(record)
    console.print(render_terminal(data, outcome=data.outcome))
    console.print(f"HTML report: {output.resolve()}")
    if args.open:
        webbrowser.open(output.resolve().as_uri())
    return 0
