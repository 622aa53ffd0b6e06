"""Entry point of the ``dbt-kickoff`` command.

Each command area lives in its own module with ``register(subparsers)``, which adds its sub-commands and sets
``handler`` (a callable taking the parsed namespace and returning an exit status) on each parser.
Exit status: 0 success, 1 a dbt or job failure, 2 bad usage or configuration (one line on stderr, no
traceback). Everything the command prints or logs, at every verbosity, passes through one
:class:`~dbt_kickoff.redaction.Redactor` that knows the destination's and dbt Cloud's secrets.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from dbt_kickoff.errors import KickoffError
from dbt_kickoff.redaction import RedactingFilter, RedactingStream, Redactor, redact_exception

logger = logging.getLogger("dbt_kickoff.cli")


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line (exit 2), without the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def _areas() -> list[object]:
    from dbt_kickoff.cli import cloud, core, demo, report, retry, state, v2, venvs, watch

    return [core, watch, retry, report, state, demo, cloud, venvs, v2]


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="dbt-kickoff",
        description="Run a dbt Core package or a dbt Cloud job right after your load, and report every node.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for area in _areas():
        area.register(subparsers)  # type: ignore[attr-defined]
    return parser


def _secrets(args: argparse.Namespace) -> list[str]:
    """Every secret this command may come across: the destination's and dbt Cloud's token."""
    from dbt_kickoff.cli import destination

    found = [os.environ.get("DBT_CLOUD__API_TOKEN", "")]
    if hasattr(args, "destination_env"):
        args.resolved_destination = destination.resolve(args)
        found += destination.secrets_in(args.resolved_destination)
    for name in ("destination", "index_url"):  # venv create: a URL may hold a password too
        found += destination.secrets_in(getattr(args, name, None))
    return found


def _handler(verbose: int, redact: Redactor) -> logging.StreamHandler:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(redact))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel([logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)])
    return handler


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # usage error (2) or --help (0): returned like every other outcome
        return exc.code if isinstance(exc.code, int) else 2
    redact = Redactor()
    streams = sys.stdout, sys.stderr
    handler = _handler(args.verbose, redact)
    try:
        redact = Redactor(_secrets(args))
        handler.filters = [RedactingFilter(redact)]
        # whatever the command prints (tables, JSON with dbt's compiled code, progress) is masked too
        sys.stdout = RedactingStream(streams[0], redact)
        sys.stderr = RedactingStream(streams[1], redact)
        handler.setStream(sys.stderr)
        return int(args.handler(args))
    except KickoffError as exc:
        print(f"error: {redact_exception(exc, redact)}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: one masked line; the traceback (masked) at -vv
        logger.debug("unexpected error", exc_info=True)
        print(f"error: unexpected {type(exc).__name__}: {redact_exception(exc, redact)} (run with -vv for "
              "the traceback)", file=sys.stderr)
        return 1
    finally:
        logging.getLogger().removeHandler(handler)
        sys.stdout, sys.stderr = streams


if __name__ == "__main__":
    sys.exit(main())
