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
import re
import sys
from collections.abc import Sequence
from typing import NoReturn

from dbt_kickoff import __version__
from dbt_kickoff.cli.wording import KnownParser, in_cli_terms, invalid_choice_hint, unknown_argument_hints
from dbt_kickoff.errors import DbtCancelled, DBTProcessingError, KickoffError
from dbt_kickoff.redaction import RedactingFilter, RedactingStream, Redactor, redact_exception
from dbt_kickoff.terminal_text import strip_control

logger = logging.getLogger("dbt_kickoff.cli")
_INVALID_CHOICE = re.compile(r"invalid choice: '(?P<word>[^']*)' \(choose from (?P<choices>.*)\)")


class UsageError(Exception):
    """A command line argparse refused; :func:`main` prints it in one line, with a hint, and exits 2."""

    def __init__(self, prog: str, message: str) -> None:
        super().__init__(message)
        self.prog = prog
        self.message = message


class _Parser(KnownParser):
    """Usage errors are raised (not printed with the usage block) so that :func:`main` can add a hint."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(self.prog, message)


def _usage_line(parser: argparse.ArgumentParser, argv: Sequence[str], error: UsageError) -> str:
    message = error.message
    choice = _INVALID_CHOICE.search(message)
    if choice:
        choices = re.findall(r"'([^']*)'", choice["choices"])
        hint = invalid_choice_hint(choice["word"], choices, argv)
        message = f"{message}{'; ' + hint if hint else ''}"
    return f"error: {error.prog}: {message} (see {error.prog} --help)"


def parse_arguments(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace:
    """``argv`` parsed; an unknown flag is refused naming the close known one (``--destnation``)."""
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        parser.error(f"unrecognized arguments: {unknown_argument_hints(parser, argv, unknown)}")
    return args


def _areas() -> list[object]:
    from dbt_kickoff.cli import cloud, core, demo, records, report, retry, state, v2, venvs, watch

    return [core, watch, retry, report, records, state, demo, cloud, venvs, v2]


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="dbt-kickoff",
        description="Run a dbt Core package or a dbt Cloud job right after your load, and report every node.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    parser.add_argument("--version", action="version", version=f"dbt-kickoff {__version__}")
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


class CurrentStderr:
    """Writes to whatever ``sys.stderr`` is at the time: while a live status line shows (rich redirects
    stderr then), a log line is printed above it instead of being glued onto it."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def error_line(exc: KickoffError, redact: Redactor) -> str:
    """The one ``error:`` line of a failed command: masked, without control sequences from dbt or the
    warehouse, and in the command line's words (flags, not Python parameters) unless it is dbt's own."""
    text = strip_control(redact_exception(exc, redact))
    return f"error: {text if isinstance(exc, (DBTProcessingError, DbtCancelled)) else in_cli_terms(text)}"


def _handler(verbose: int, redact: Redactor) -> logging.StreamHandler:
    handler = logging.StreamHandler(CurrentStderr())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(redact))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel([logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)])
    return handler


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parse_arguments(parser, argv)
    except UsageError as exc:
        print(strip_control(_usage_line(parser, argv, exc)), file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help or --version (0): returned like every other outcome
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
        return int(args.handler(args))
    except KickoffError as exc:
        print(error_line(exc, redact), file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: one masked line; the traceback (masked) at -vv
        logger.debug("unexpected error", exc_info=True)
        print(f"error: unexpected {type(exc).__name__}: {strip_control(redact_exception(exc, redact))} (run "
              "with -vv for the traceback)", file=sys.stderr)
        return 1
    finally:
        logging.getLogger().removeHandler(handler)
        sys.stdout, sys.stderr = streams


if __name__ == "__main__":
    sys.exit(main())
