"""Entry point of the ``dbt-kickoff`` command.

Each command area lives in its own module with ``register(subparsers)``, which adds its sub-commands and sets
``handler`` (a callable taking the parsed namespace and returning an exit status) on each parser.
Exit status: 0 success, 1 a dbt or job failure, 2 bad usage or configuration.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from dbt_kickoff.errors import KickoffError


def _areas() -> list[object]:
    from dbt_kickoff.cli import cloud, core, demo, report, retry, venvs, watch

    return [core, watch, retry, report, demo, cloud, venvs]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dbt-kickoff",
        description="Run a dbt Core package or a dbt Cloud job right after your load, and report every node.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for area in _areas():
        area.register(subparsers)  # type: ignore[attr-defined]
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=[logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)],
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return int(args.handler(args))
    except KickoffError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
