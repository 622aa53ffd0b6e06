"""``dbt-kickoff state``: what warm state the run records store holds (dbt's parse states, manifests, installed
packages), its size, and a way to remove it."""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone
from typing import Any

from dbt_kickoff.cli.report import add_records_argument, storage_options
from dbt_kickoff.records import RecordStore, default_records_root
from dbt_kickoff.warm import WarmStore


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "state", help="list the warm state in the run records store (parse states, manifests, packages)",
        description="List the warm state kept in the run records store: dbt's parse state per package, target, "
                    "vars and dbt version, the manifests orchestrators read, the installed packages per "
                    "declaration; each with its size. Without --records: every package's default folder.",
    )
    add_records_argument(parser)
    parser.add_argument("--json", action="store_true", help="print the listing as JSON on stdout")
    parser.add_argument("--clear", action="store_true", help="remove all of it (the records stay)")
    parser.set_defaults(handler=handle_state)


def _stores(args: argparse.Namespace) -> list[RecordStore]:
    if args.records:
        return [RecordStore(args.records, storage_options(args))]
    root = default_records_root()  # records=None keeps one folder per package below it
    return [RecordStore(path) for path in sorted(root.iterdir()) if path.is_dir()] if root.is_dir() else []


def size_text(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def handle_state(args: argparse.Namespace) -> int:
    listing: list[dict[str, Any]] = []
    for records in _stores(args):
        store = WarmStore(records)
        entries = store.entries()
        if not entries:
            continue
        if args.clear:
            store.clear()
        listing.append({
            "store": records.uri(), "total_bytes": sum(e.size for e in entries), "removed": args.clear,
            "entries": [{"kind": e.kind, "name": e.name, "bytes": e.size,
                         "written": datetime.fromtimestamp(e.modified, timezone.utc).isoformat()} for e in entries],
        })
    if args.json:
        print(json.dumps({"stores": listing}, indent=2))
        return 0
    if not listing:
        print("no warm state")
        return 0
    for found in listing:
        action = "removed" if found["removed"] else "holds"
        print(f"{found['store']} {action} {len(found['entries'])} warm state entries, "
              f"{size_text(found['total_bytes'])}")
        for entry in found["entries"]:
            print(f"  {entry['kind']:<9} {size_text(entry['bytes']):>10}  {entry['written'][:19]}Z  {entry['name']}")
    return 0
