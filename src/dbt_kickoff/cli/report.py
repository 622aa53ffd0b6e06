"""``dbt-kickoff report``: a run record as one self-contained HTML page and a terminal summary."""

from __future__ import annotations

import argparse
import json
import webbrowser
from pathlib import Path
from typing import Any

from dbt_kickoff.progress import console_for
from dbt_kickoff.records import open_record
from dbt_kickoff.report import report_data, write_html
from dbt_kickoff.report.terminal import render_terminal


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report", help="turn a run record into an HTML report (timeline, critical path, slowest, failures)",
        description="Write one self-contained HTML file for a run record and print a summary. RECORD is a "
                    "record folder or URL, a record name (with --records), or 'latest' (the default).",
    )
    parser.add_argument("record", nargs="?", default="latest", help="record folder/URL, name, or 'latest'")
    add_records_argument(parser)
    parser.add_argument("--output", "-o", help="HTML file to write (default: report.html in a local record "
                        "folder, else ./<record>.html)")
    parser.add_argument("--open", action="store_true", help="open the report in a browser")
    parser.add_argument("--json", action="store_true", help="print the record's report.json on stdout")
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


def handle_report(args: argparse.Namespace) -> int:
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
