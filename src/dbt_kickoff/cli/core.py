"""``dbt-kickoff run``: run a dbt package (local folder or git URL) against a destination."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from dbt_kickoff.cli import destination
from dbt_kickoff.cli.outcome import outcome_of, print_outcome, report_failure
from dbt_kickoff.core.options import CORE_OPTIONS
from dbt_kickoff.environments.options import VENV_OPTIONS
from dbt_kickoff.errors import ConfigurationError, DbtCancelled, DBTProcessingError
from dbt_kickoff.profiles.adapters import supported_schemes
from dbt_kickoff.profiles.own import find_profiles_yml
from dbt_kickoff.progress import NodeProgress, console_for
from dbt_kickoff.redaction import redact_url, url_scheme
from dbt_kickoff.report.outcome import CallOutcome
from dbt_kickoff.runner import PackageRunner, RunReport, package
from dbt_kickoff.signals import cancel_on_signals
from dbt_kickoff.validation import cli_text, cli_type

EXIT_EMPTY_SELECTION = 2

COMMANDS = ("run_all", "build", "run", "test", "seed", "snapshot", "source_freshness", "deps")


def option_type(option: str, flag: str) -> Callable[[str], Any]:
    """The argparse ``type=`` of a flag that takes the Core runner option ``option`` (checked by its spec)."""
    return cli_type(CORE_OPTIONS, option, flag)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "run", help="run a dbt package against a destination",
        description="Run a dbt package (local folder or git URL) against a destination and report every node.",
    )
    add_package_arguments(parser)
    parser.add_argument("--command", choices=COMMANDS, default="run_all", help="what to run (default: run_all)")
    parser.add_argument("--vars", help="extra dbt vars as a JSON object")
    parser.add_argument("--select", type=cli_text("--select"),
                        help="dbt selection (not for run_all)")
    parser.add_argument("--full-refresh", action="store_true", help="rebuild incremental models and seeds")
    parser.add_argument("--changed-only", action="store_true",
                        help="build/run_all: only what changed since the last good run (code, data, failures); "
                        "each node says why it was built")
    parser.add_argument("--source-tests-selector", type=option_type("source_tests_selector", "--source-tests-selector"),
                        help="run_all: test these sources before the run")
    parser.add_argument("--fail-on-empty-selection", action="store_true",
                        help="exit 2 when a selection matches no nodes (by default: a warning line, exit 0)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    parser.set_defaults(handler=handle_run)


def package_location(text: str) -> str:
    """PACKAGE_LOCATION as argparse checks it: a destination URL given in its place (the arguments swapped) is
    refused naming the right order."""
    value = option_type("package_location", "PACKAGE_LOCATION")(text)
    scheme = url_scheme(value)
    if scheme and scheme in supported_schemes() and not Path(value).exists():
        raise argparse.ArgumentTypeError(
            f"{redact_url(value)} is a destination, not a dbt package: did you mean "
            f"'PACKAGE_LOCATION --destination {redact_url(value)}'?"
        )
    return str(value)


def add_package_arguments(parser: argparse.ArgumentParser) -> None:
    """Where the package is, where dbt writes, and how dbt runs (shared by run and watch)."""
    parser.add_argument("package_location", type=package_location, help="folder with dbt_project.yml, or a git URL")
    destination.add_destination_arguments(parser)
    parser.add_argument("--dataset-name", type=option_type("dataset_name", "--dataset-name"),
                        help="schema dbt builds into")
    parser.add_argument("--source-dataset-name", type=option_type("source_dataset_name", "--source-dataset-name"),
                        help="schema the data was loaded into (var source_dataset_name)")
    parser.add_argument("--branch", dest="package_repository_branch",
                        type=option_type("package_repository_branch", "--branch"), help="git branch, tag or commit sha")
    parser.add_argument("--allow-stale-package", action="store_true",
                        help="when the git repository cannot be reached, run the cached checkout of the last fetch")
    parser.add_argument("--subdirectory", type=option_type("subdirectory", "--subdirectory"),
                        help="folder of the dbt project inside the repository")
    parser.add_argument("--working-dir", type=option_type("working_dir", "--working-dir"),
                        help="where git checkouts are cached")
    parser.add_argument("--profiles-dir", type=option_type("profiles_dir", "--profiles-dir"),
                        help="profiles.yml folder (without --destination)")
    parser.add_argument("--profile", dest="profile_name", type=option_type("profile_name", "--profile"),
                        help="profile name (without --destination)")
    parser.add_argument("--target", type=option_type("target", "--target"), help="dbt target name")
    parser.add_argument("--threads", type=option_type("threads", "--threads"), help="dbt threads (a whole number >= 1)")
    parser.add_argument("--dbt-version", type=cli_type(VENV_OPTIONS, "dbt_version", "--dbt-version"),
                        help="run in a cached virtual environment with this dbt version")
    parser.add_argument("--row-counts", action="store_true",
                        help="fill the rows of models whose adapter reports none (one count(*) per model)")
    parser.add_argument("--no-auto-full-refresh", action="store_true",
                        help="fail instead of refreshing an incremental model whose schema is out of sync")
    parser.add_argument("--timeout", type=option_type("command_timeout", "--timeout"),
                        help="seconds each dbt command may take (> 0)")
    parser.add_argument("--records", help="where run records go: a folder or fsspec URL (default: dbt-kickoff's "
                        "state folder); see dbt-kickoff report / retry")
    parser.add_argument("--no-records", action="store_true", help="leave no run record")
    parser.add_argument("--keep-last", type=int, default=50, help="run records to keep (default: 50)")
    parser.add_argument("--openlineage", metavar="URL", help="send OpenLineage events to this HTTP endpoint")
    parser.add_argument("--always-build", metavar="SELECTOR", type=option_type("always_build", "--always-build"),
                        help="changed-only builds always build these nodes (a dbt selector, e.g. 'tag:always')")


def _parse_vars(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"--vars must be a JSON object: {exc}") from None
    if not isinstance(value, dict):
        raise ConfigurationError("--vars must be a JSON object, e.g. '{\"day\": \"2026-11-24\"}'")
    return value


def report_json(report: RunReport, success: bool, error: str | None = None,
                cancelled: DbtCancelled | None = None) -> str:
    return json.dumps(
        {**report.to_dict(), "success": success, "error": error,
         "cancelled": cancelled.reason if cancelled else None, "running": cancelled.running if cancelled else []},
        indent=2,
        default=str,
    )


def _venv(args: argparse.Namespace) -> Any:
    if not args.dbt_version:
        return None
    from dbt_kickoff.environments.venv import get_venv

    return get_venv(args.resolved_destination, args.dbt_version)


def check_run_arguments(args: argparse.Namespace) -> None:
    """The flags that only make sense together, and --vars, checked before anything starts."""
    _parse_vars(args.vars)
    if args.changed_only and (args.command not in ("run_all", "build") or args.select):
        raise ConfigurationError("--changed-only works with --command run_all or build, without --select")
    if args.command == "run_all" and args.select:
        raise ConfigurationError("--select does not apply to run_all; use --command build/run/test")


def execute(runner: PackageRunner, args: argparse.Namespace) -> None:
    check_run_arguments(args)
    extra_vars = _parse_vars(args.vars)
    params = ["--select", args.select] if args.select else []
    if args.command == "run_all":
        runner.run_all(additional_vars=extra_vars, source_tests_selector=args.source_tests_selector,
                       full_refresh=args.full_refresh, changed_only=args.changed_only)
    elif args.command == "build":
        runner.build(params, additional_vars=extra_vars, full_refresh=args.full_refresh,
                     changed_only=args.changed_only)
    elif args.command == "deps":
        runner.deps()
    elif args.command in ("run", "seed"):
        getattr(runner, args.command)(params, additional_vars=extra_vars, full_refresh=args.full_refresh)
    else:
        getattr(runner, args.command)(params, additional_vars=extra_vars)


def runner_from_args(args: argparse.Namespace, on_event: Any = None) -> PackageRunner:
    """A runner from the shared package arguments."""
    if not hasattr(args, "resolved_destination"):
        args.resolved_destination = destination.resolve(args)
    return package(
        args.resolved_destination, args.package_location, package_repository_branch=args.package_repository_branch,
        subdirectory=args.subdirectory, allow_stale_package=args.allow_stale_package, working_dir=args.working_dir,
        dataset_name=args.dataset_name,
        source_dataset_name=args.source_dataset_name, profiles_dir=args.profiles_dir,
        profile_name=args.profile_name, target=args.target, threads=args.threads,
        auto_full_refresh_when_out_of_sync=not args.no_auto_full_refresh, command_timeout=args.timeout,
        venv=_venv(args), on_event=on_event, records=False if args.no_records else args.records,
        keep_last=args.keep_last, openlineage=args.openlineage, always_build=args.always_build,
        row_counts=args.row_counts,
    )


def _outcome(runner: PackageRunner, args: argparse.Namespace) -> CallOutcome:
    params = {"run_params": ["--fail-fast"], "source_tests_selector": args.source_tests_selector} \
        if args.command == "run_all" else {}
    return outcome_of(runner.last_report, args, params, runner.target_path(args.dataset_name))


def require_destination(args: argparse.Namespace, project_dir: Path) -> None:
    """Without a destination the package's own profiles.yml is used: when there is none, say what to do
    before dbt starts (dbt would fail with "Path '~/.dbt' does not exist")."""
    if args.resolved_destination is not None or args.command == "deps":
        return
    if find_profiles_yml(project_dir, args.profiles_dir) is None:
        where = args.profiles_dir or f"{project_dir}, $DBT_PROFILES_DIR or ~/.dbt"
        raise ConfigurationError(
            f"no destination and no profiles.yml in {where}: pass --destination URL (or --destination-env NAME, "
            f"--destination-file PATH, ${destination.DEFAULT_ENV}), or add a profiles.yml to the package"
        )


def checked_runner(args: argparse.Namespace, on_event: Any = None) -> PackageRunner:
    """:func:`runner_from_args`, refused before any dbt process starts when dbt would have no profile."""
    if not hasattr(args, "resolved_destination"):
        args.resolved_destination = destination.resolve(args)
    local = Path(args.package_location).expanduser()
    if local.is_dir():  # checked before the runner starts its dbt worker
        require_destination(args, local / (args.subdirectory or ""))
        return runner_from_args(args, on_event=on_event)
    runner = runner_from_args(args, on_event=on_event)
    try:
        require_destination(args, runner.package_dir)  # a git package: known once checked out
    except ConfigurationError:
        runner.close()
        raise
    return runner


def handle_run(args: argparse.Namespace) -> int:
    """Run the command; SIGTERM / SIGINT cancel dbt (its queries too), print what finished and exit 143 / 130."""
    console = console_for(stderr=True)
    progress = NodeProgress(console) if not args.json else None
    check_run_arguments(args)
    runner = checked_runner(args, on_event=progress)
    with runner, cancel_on_signals(runner) as received:
        try:
            with progress or nullcontext():
                execute(runner, args)
        except DbtCancelled as exc:
            if args.json:
                print(report_json(runner.last_report, False, str(exc), cancelled=exc))
            else:
                print_outcome(runner.last_report, _outcome(runner, args))
            print(f"error: {exc}", file=sys.stderr)
            return received.exit_status or exc.exit_status
        except DBTProcessingError as exc:
            if args.json:
                print(report_json(runner.last_report, False, str(exc)))
                raise
            return report_failure(runner.last_report, _outcome(runner, args))
    empty = [step.command for step in runner.last_report.steps if step.nothing_selected]
    for command in empty:
        print(f"dbt {command}: the selection matched no nodes; nothing was run", file=sys.stderr)
    if args.json:
        if runner.last_report.changed is not None:
            print(runner.last_report.changed.describe(), file=sys.stderr)
        print(report_json(runner.last_report, True))
    else:
        print_outcome(runner.last_report, _outcome(runner, args))
        if runner.last_report.commit_sha:
            print(f"package commit: {runner.last_report.commit_sha}", file=sys.stderr)
    if empty and args.fail_on_empty_selection:
        print("error: a selection matched no nodes (--fail-on-empty-selection)", file=sys.stderr)
        return EXIT_EMPTY_SELECTION
    return 0
