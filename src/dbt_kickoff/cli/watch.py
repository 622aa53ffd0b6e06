"""``dbt-kickoff watch``: load → transform every N seconds until stopped.

SIGTERM or SIGINT ends the loop and cancels a running dbt command (its queries too); the interrupted cycle is
printed with what finished, and the exit status is 143 / 130.
"""

from __future__ import annotations

import argparse
import importlib
import json
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

from rich.markup import escape

from dbt_kickoff.cli.core import add_package_arguments, checked_runner, option_type
from dbt_kickoff.cycles import CycleReport, iter_cycles
from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.progress import STATUS_STYLES, console_for
from dbt_kickoff.results import NodeResult
from dbt_kickoff.signals import cancel_on_signals
from dbt_kickoff.validation import cli_text


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "watch", help="load and transform every N seconds, never overlapping",
        description="Run `load → transform` every --every seconds with one warm dbt process. With --load, only "
        "the models downstream of the loaded tables are built and dbt is skipped when nothing was loaded; "
        "without it, only what changed since the last good run.",
    )
    add_package_arguments(parser)
    parser.add_argument("--every", type=option_type("every", "--every"), required=True,
                        help="seconds between cycle starts")
    parser.add_argument("--load", metavar="MODULE:FUNCTION", type=cli_text("--load"),
                        help="a function returning a dlt LoadInfo or a list of 'schema.table' it loaded")
    parser.add_argument("--transform", choices=("build", "run_all"), default="build",
                        help="what runs when everything is transformed (default: build)")
    parser.add_argument("--all-models", action="store_true", help="transform everything, not just what was loaded")
    parser.add_argument("--no-changed-only", action="store_true",
                        help="without --load (and in the first cycle): transform everything, not only what changed "
                        "since the last good run")
    parser.add_argument("--max-cycles", type=option_type("max_cycles", "--max-cycles"),
                        help="stop after this many cycles")
    parser.add_argument("--on-overlap", choices=("wait", "skip"), default="wait",
                        help="a cycle longer than --every: start the next at once (wait) or at the next slot (skip)")
    parser.add_argument("--json", action="store_true", help="one JSON line per cycle on stdout")
    parser.set_defaults(handler=handle_watch)


def load_function(spec: str | None) -> Callable[[], Any] | None:
    """Import ``module:function``."""
    if not spec:
        return None
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ConfigurationError(f"--load must look like 'package.module:function', not {spec!r}")
    try:
        function = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(f"--load {spec}: {exc}") from None
    if not callable(function):
        raise ConfigurationError(f"--load {spec} is not a function")
    return function


def cycle_json(report: CycleReport) -> str:
    return json.dumps(report.to_dict(), default=str)


def node_line(result: NodeResult) -> str:
    """One node of a cycle: status, type, name, time and why a changed-only cycle built it."""
    style = STATUS_STYLES.get(result.status, "")
    why = f"  [dim]({escape(result.reason)})[/]" if result.reason else ""
    return (f"[{style}]{result.status:>8}[/] {result.resource_type:<9} {escape(result.model_name)}  "
            f"[dim]{result.time:.2f}s[/]{why}")


def cycle_line(report: CycleReport) -> str:
    failed = sum(r.is_failure for r in report.results)
    state = "[red]failed[/]" if not report.ok else (f"[dim]skipped ({report.skipped})[/]" if report.skipped else
                                                    "[green]ok[/]")
    detail = f": {escape(str(report.error))}" if report.error else ""
    return (f"cycle {report.number} {state} load {report.load_seconds:.2f}s, transform "
            f"{report.transform_seconds:.2f}s, {len(report.results)} node(s), {failed} failed{detail}")


class _StopCycles:
    """Cancellable for :func:`cancel_on_signals`: ends the loop and cancels the running dbt command."""

    def __init__(self, runner: Any) -> None:
        self.runner = runner
        self.event = threading.Event()

    def cancel(self, reason: str = "cancelled") -> None:
        self.event.set()
        self.runner.cancel(reason)


def handle_watch(args: argparse.Namespace) -> int:
    load = load_function(args.load)
    console = console_for(stderr=True)
    failures = 0
    with checked_runner(args) as runner:
        stop = _StopCycles(runner)
        with cancel_on_signals(stop) as received:
            for report in iter_cycles(runner, load, every=args.every, transform=args.transform,
                                      only_loaded=not args.all_models, max_cycles=args.max_cycles,
                                      changed_only=not args.no_changed_only,
                                      overlap=args.on_overlap, stop=stop.event):
                failures += not report.ok
                if args.json:
                    print(cycle_json(report), flush=True)
                    continue
                for result in report.results:
                    console.print(node_line(result), highlight=False, soft_wrap=not console.is_terminal)
                if runner.last_report.changed is not None and not report.skipped:
                    console.print(escape(runner.last_report.changed.describe()), highlight=False)
                console.print(cycle_line(report), highlight=False)
    if received.signum is not None:
        print(f"stopped by {signal.Signals(received.signum).name}", file=sys.stderr)
        return received.exit_status or 1
    return 1 if failures else 0
