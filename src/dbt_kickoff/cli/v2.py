"""``dbt-kickoff v2 check|fix PACKAGE``: what dbt v2 needs changed in a package, and the change (dbt-autofix)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from dbt_kickoff.autofix.options import AUTOFIX_OPTIONS
from dbt_kickoff.validation import cli_type


def register(subparsers: Any) -> None:
    v2 = subparsers.add_parser(
        "v2", help="check or fix a package for the dbt v2 engine (dbt Labs' dbt-autofix, offline)",
        description="Run dbt Labs' dbt-autofix (from its own cached venv, with the JSON schemas of your dbt v2 "
                    "engine, so offline) on a dbt package: 'check' lists what dbt v2 needs changed (on a copy; "
                    "exit 1 when anything), 'fix' changes it (in a copy, PACKAGE-v2, unless --in-place).",
    )
    actions = v2.add_subparsers(dest="v2_command", metavar="ACTION", required=True)

    def common(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("package", type=cli_type(AUTOFIX_OPTIONS, "package_dir", "PACKAGE"),
                            help="the dbt package folder")
        parser.add_argument(
            "--dbt-version", type=cli_type(AUTOFIX_OPTIONS, "dbt_version", "--dbt-version"), default="fusion",
            help='the dbt v2 engine to check against ("fusion", "2.*" or a version such as "2.0.0rc196")',
        )
        parser.add_argument("--venv-dir", type=cli_type(AUTOFIX_OPTIONS, "venv_dir", "--venv-dir"),
                            help="the venv cache folder")
        parser.add_argument("--json", action="store_true", help="print JSON")

    check = actions.add_parser("check", help="list what dbt v2 needs changed (exit 1 when anything)")
    common(check)
    check.set_defaults(handler=_check)
    fix = actions.add_parser("fix", help="change it: in a copy (PACKAGE-v2 or --output), or --in-place")
    common(fix)
    where = fix.add_mutually_exclusive_group()
    where.add_argument("--in-place", action="store_true", help="change the package itself")
    where.add_argument("--output", type=cli_type(AUTOFIX_OPTIONS, "output_dir", "--output"),
                       help="the folder of the fixed copy")
    fix.set_defaults(handler=_fix)


def _check(args: argparse.Namespace) -> int:
    from dbt_kickoff.autofix import check_package

    report = check_package(args.package, dbt_version=args.dbt_version, venv_dir=args.venv_dir)
    _print(report, args.json)
    return 1 if report.needs_changes else 0


def _fix(args: argparse.Namespace) -> int:
    from dbt_kickoff.autofix import fix_package

    report = fix_package(args.package, output_dir=args.output, in_place=args.in_place,
                         dbt_version=args.dbt_version, venv_dir=args.venv_dir)
    _print(report, args.json)
    return 0


def _print(report: Any, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"package": str(report.package), "applied": report.applied,
                          "needs_changes": report.needs_changes,
                          "changes": [change.__dict__ for change in report.changes]}, indent=2))
        return
    for change in report.changes:
        print(f"{change.file}: {change.description} ({change.deprecation})")
    if report.applied:
        print(f"changed {len(report.changes)} thing(s) in {report.package}" if report.changes
              else f"nothing to change in {report.package}")
    elif report.changes:
        print(f"{report.package}: {len(report.changes)} change(s) needed for dbt v2; "
              f"`dbt-kickoff v2 fix {report.package}` makes them in a copy (--in-place: in the package)")
    else:
        print(f"{report.package}: nothing dbt-autofix would change for dbt v2")
