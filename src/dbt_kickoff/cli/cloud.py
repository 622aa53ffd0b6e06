"""``dbt-kickoff cloud …``: trigger, watch and cancel dbt Cloud runs, and serve the local emulator.

The token is read from ``DBT_CLOUD__API_TOKEN`` only (never from argv); account, job and host come from the
other ``DBT_CLOUD__*`` variables or the flags. While waiting, each node is printed as the run's logs show it
finished (``--fail-fast`` cancels the run at the first failing one), and the run leaves a record
(``--records``/``--no-records``) that ``dbt-kickoff report`` renders and ``dbt-kickoff retry`` reruns from
failure. SIGTERM and SIGINT cancel the run (unless ``--no-cancel-on-stop``), print its status and exit 143 / 130.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.table import Table

from dbt_kickoff.cli.options import CLI_OPTIONS
from dbt_kickoff.cloud.credentials import DbtCloudCredentials, resolve_credentials
from dbt_kickoff.cloud.errors import (
    DbtCloudAPIError,
    DbtCloudError,
    DbtCloudRunCancelled,
    DbtCloudRunFailed,
    DbtCloudWaitTimeout,
)
from dbt_kickoff.cloud.options import CLOUD_OPTIONS
from dbt_kickoff.cloud.runs import DbtCloud
from dbt_kickoff.cloud.status import RunStatus
from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.progress import NodeProgress, console_for
from dbt_kickoff.results import NodeResult
from dbt_kickoff.validation import cli_text, cli_type

EXIT_OK, EXIT_FAILED = 0, 1
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
STOP_SETTLE_POLLS = 5  # after a stop, how many times (1 s apart) to look whether the cancel took effect


def option_type(option: str, flag: str) -> Callable[[str], Any]:
    """The argparse ``type=`` of a flag that takes the dbt Cloud option ``option`` (checked by its spec)."""
    return cli_type(CLOUD_OPTIONS, option, flag)


def register(subparsers: Any) -> None:
    cloud = subparsers.add_parser(
        "cloud",
        help="drive dbt Cloud jobs",
        description="Trigger and watch dbt Cloud runs. The token comes from DBT_CLOUD__API_TOKEN.",
    )
    sub = cloud.add_subparsers(dest="cloud_command", metavar="CLOUD_COMMAND", required=True)

    run = sub.add_parser("run", help="trigger a job run (and wait for it)")
    run.add_argument("job_id", metavar="JOB_ID", type=option_type("job_id", "JOB_ID"), help="dbt Cloud job id")
    run.add_argument("--data", help='trigger fields as a JSON object, e.g. \'{"git_branch": "main"}\'')
    run.add_argument("--wait", action=argparse.BooleanOptionalAction, default=True, help="wait for the outcome")
    run.add_argument("--timeout", type=option_type("timeout", "--timeout"), help="give up waiting after S seconds")
    run.add_argument("--cancel-on-timeout", action="store_true", help="cancel the run when --timeout passes")
    run.add_argument(
        "--poll-interval",
        type=option_type("poll_interval", "--poll-interval"),
        default=10.0,
        help="seconds between status checks",
    )
    run.add_argument(
        "--idempotency-key",
        type=option_type("idempotency_key", "--idempotency-key"),
        help="reuse the run started earlier with this key instead of a new one",
    )
    run.add_argument("--attach", action="store_true", help="attach to a run of the job already in progress")
    run.add_argument(
        "--rerun-from-failure", action="store_true", help="rerun from failure if the last run failed"
    )
    _watch_options(run)
    _stop_option(run)
    _common(run)
    run.set_defaults(handler=handle_run)

    status = sub.add_parser("status", help="show a run (and optionally wait for it)")
    status.add_argument("run_id", metavar="RUN_ID", type=option_type("run_id", "RUN_ID"), help="dbt Cloud run id")
    status.add_argument("--wait", action=argparse.BooleanOptionalAction, default=False, help="wait for the end")
    status.add_argument("--timeout", type=option_type("timeout", "--timeout"), help="give up waiting after S seconds")
    status.add_argument(
        "--poll-interval",
        type=option_type("poll_interval", "--poll-interval"),
        default=10.0,
        help="seconds between status checks",
    )
    _watch_options(status)
    _stop_option(status)
    _common(status)
    status.set_defaults(handler=handle_status)

    cancel = sub.add_parser("cancel", help="cancel a run")
    cancel.add_argument("run_id", metavar="RUN_ID", type=option_type("run_id", "RUN_ID"), help="dbt Cloud run id")
    _common(cancel)
    cancel.set_defaults(handler=handle_cancel)

    emulator = sub.add_parser("emulator", help="serve the local dbt Cloud API emulator (for tests and demos)")
    emulator.add_argument(
        "--port", type=cli_type(CLI_OPTIONS, "port", "--port"), default=8765,
        help="port to listen on (0: any free port)",
    )
    emulator.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    emulator.add_argument("--no-demo", action="store_true", help="start empty instead of with a demo account")
    emulator.set_defaults(handler=handle_emulator)


def _watch_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fail-fast", action="store_true",
                        help="cancel the run as soon as a node fails (error or test failure)")
    records = parser.add_mutually_exclusive_group()
    records.add_argument("--records", type=cli_type(CLOUD_OPTIONS, "records", "--records"),
                         help="where the run's record goes: a folder or fsspec URL (default: the state folder)")
    records.add_argument("--no-records", action="store_true", help="leave no run record")
    parser.add_argument("--keep-last", type=cli_type(CLOUD_OPTIONS, "keep_last", "--keep-last"), default=50,
                        help="run records to keep (default 50)")
    parser.add_argument("--openlineage", type=cli_text("--openlineage"),
                        help="send the run's OpenLineage events to this HTTP endpoint")


def _cloud(args: argparse.Namespace) -> DbtCloud:
    """The runner for the command's account, with its record and lineage settings."""
    records = False if getattr(args, "no_records", False) else getattr(args, "records", None)
    return DbtCloud(_credentials(args), records=records, keep_last=getattr(args, "keep_last", 50),
                    openlineage=getattr(args, "openlineage", None))


def _stop_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cancel-on-stop",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="cancel the run when the wait is stopped by SIGTERM or SIGINT (exit 143 / 130)",
    )


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--account-id",
        type=option_type("account_id", "--account-id"),
        help="dbt Cloud account id (default: DBT_CLOUD__ACCOUNT_ID)",
    )
    parser.add_argument(
        "--base-url",
        type=cli_text("--base-url"),
        help="dbt Cloud access URL or host (default: DBT_CLOUD__BASE_URL)",
    )
    parser.add_argument("--json", action="store_true", help="print the run as JSON on stdout")


def _credentials(args: argparse.Namespace) -> DbtCloudCredentials:
    env = dict(os.environ)
    if args.account_id:
        env["DBT_CLOUD__ACCOUNT_ID"] = str(args.account_id)
    if args.base_url:
        env["DBT_CLOUD__BASE_URL"] = args.base_url
    return resolve_credentials(None, environ=env)


def _parse_data(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"--data must be a JSON object: {exc}") from None
    if not isinstance(value, dict):
        raise ConfigurationError('--data must be a JSON object, e.g. \'{"git_branch": "main"}\'')
    return value


def _stderr() -> Console:
    return Console(stderr=True, highlight=False)


@contextmanager
def _live_progress(enabled: bool) -> Iterator[NodeProgress | None]:
    """One line per node as the run's logs show it finished (on stderr), and a status line with the run's state
    updated at every poll."""
    if not enabled:
        yield None
        return
    with NodeProgress(console_for(stderr=True)) as progress:
        progress.note("waiting for dbt Cloud")
        yield progress


def _on_poll(progress: NodeProgress | None) -> Callable[[dict[str, Any]], None] | None:
    if progress is None:
        return None

    def update(run: dict[str, Any]) -> None:
        duration = run.get("duration_humanized") or run.get("duration") or ""
        progress.note(f"dbt Cloud run {run.get('id')}: {run.get('status_humanized')} {duration}".rstrip())

    return update


def _outcome(run: dict[str, Any]) -> str:
    status = RunStatus.of(run)
    return {RunStatus.SUCCESS: "success", RunStatus.ERROR: "failed", RunStatus.CANCELLED: "cancelled"}.get(
        status, "in_progress"
    )


def _results(cloud: DbtCloud, run: dict[str, Any]) -> list[NodeResult]:
    if not RunStatus.of(run).is_terminal:
        return []
    try:
        return cloud.node_results(run)
    except DbtCloudAPIError:
        return []  # results are a bonus; the run's outcome stands without them


def _print_run(console: Console, run: dict[str, Any], results: list[NodeResult]) -> None:
    if results:
        table = Table(title=f"dbt Cloud run {run.get('id')}")
        for column in ("node", "type", "status", "time", "message"):
            table.add_column(column)
        for r in results:
            table.add_row(r.model_name, r.resource_type, r.status, f"{r.time:.2f}s", (r.message or "")[:80])
        console.print(table)
    href = f" {run['href']}" if run.get("href") else ""
    console.print(f"run {run.get('id')}: {run.get('status_humanized')}{href}")


def _emit(
    args: argparse.Namespace,
    cloud: DbtCloud,
    run: dict[str, Any],
    results: list[NodeResult],
    outcome: str,
    error: str | None = None,
) -> None:
    if args.json:
        payload = {"outcome": outcome, "error": error, "run": run, "results": [r.to_dict() for r in results]}
        print(cloud.client.scrub(json.dumps(payload, indent=2, default=str)))  # logs may echo anything
    else:
        _print_run(Console(highlight=False), run, results)
        if error:
            _stderr().print(f"error: {error}", markup=False)


class _Stopped(BaseException):
    """SIGTERM or SIGINT arrived while waiting (a BaseException, like KeyboardInterrupt, so no handler of
    ordinary errors swallows it)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextmanager
def _stop_on_signals() -> Iterator[None]:
    """SIGTERM and SIGINT raise :class:`_Stopped` in the waiting (main) thread; previous handlers come back."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        raise _Stopped(signum)

    previous = {sig: signal.signal(sig, stop) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _after_stop(args: argparse.Namespace, cloud: DbtCloud, run_id: int, stop: _Stopped) -> int:
    """Print the run's status after a stop (waiting a little for the cancel to show); exit 128 + signal."""
    run: dict[str, Any] = {"id": run_id}
    try:
        with _stop_on_signals():  # a second signal ends the settling at once
            run = cloud.get_run(run_id)
            for _ in range(STOP_SETTLE_POLLS if args.cancel_on_stop else 0):
                if RunStatus.of(run).is_terminal:
                    break
                cloud.clock.sleep(1.0)
                run = cloud.get_run(run_id)
    except (DbtCloudError, _Stopped):
        pass
    status = RunStatus.of(run) if run.get("status") is not None else None
    if not args.cancel_on_stop:
        what = "the run was left running"
    elif status == RunStatus.CANCELLED:
        what = "the run was cancelled"
    elif status is not None and status.is_terminal:
        what = f"the run had already ended ({status.humanized})"
    else:
        what = "cancel of the run was requested"
    name = signal.Signals(stop.signum).name
    _emit(args, cloud, run, [], "stopped", f"stopped by {name} while waiting for dbt Cloud run {run_id}; {what}")
    return 128 + stop.signum


def _finish(args: argparse.Namespace, cloud: DbtCloud, run_id: int, wait: Callable[[], dict[str, Any]]) -> int:
    try:
        with _stop_on_signals():
            run = wait()
    except _Stopped as stop:
        return _after_stop(args, cloud, run_id, stop)
    except DbtCloudRunFailed as exc:  # also DbtCloudRunCancelled
        outcome = "cancelled" if isinstance(exc, DbtCloudRunCancelled) else "failed"
        _emit(args, cloud, exc.run, _results(cloud, exc.run), outcome, str(exc))
        return EXIT_FAILED
    except DbtCloudWaitTimeout as exc:
        _emit(args, cloud, exc.run, [], "timed_out", str(exc))
        return EXIT_FAILED
    _emit(args, cloud, run, _results(cloud, run), _outcome(run))
    return EXIT_OK


def handle_run(args: argparse.Namespace) -> int:
    data = _parse_data(args.data)
    with _cloud(args) as cloud:
        run = cloud.trigger(
            args.job_id,
            data,
            idempotency_key=args.idempotency_key,
            attach_to_running=args.attach,
            rerun_from_failure=args.rerun_from_failure,
        )
        if not args.wait:
            _emit(args, cloud, run, [], _outcome(run))
            return EXIT_OK
        with _live_progress(not args.json) as progress:
            return _finish(
                args,
                cloud,
                int(run["id"]),
                lambda: cloud.wait(
                    run,
                    poll_interval=args.poll_interval,
                    timeout=args.timeout,
                    cancel_on_timeout=args.cancel_on_timeout,
                    on_poll=_on_poll(progress),
                    just_triggered=True,
                    cancel_on_stop=args.cancel_on_stop,
                    on_event=progress,
                    fail_fast=args.fail_fast,
                    idempotency_key=args.idempotency_key,
                ),
            )


def handle_status(args: argparse.Namespace) -> int:
    with _cloud(args) as cloud:
        run = cloud.get_run(args.run_id)
        if not args.wait:
            _emit(args, cloud, run, _results(cloud, run), _outcome(run))
            return EXIT_FAILED if _outcome(run) in ("failed", "cancelled") else EXIT_OK
        with _live_progress(not args.json) as progress:
            return _finish(
                args,
                cloud,
                int(run["id"]),
                lambda: cloud.wait(
                    run,
                    poll_interval=args.poll_interval,
                    timeout=args.timeout,
                    on_poll=_on_poll(progress),
                    cancel_on_stop=args.cancel_on_stop,
                    on_event=progress,
                    fail_fast=args.fail_fast,
                ),
            )


def handle_cancel(args: argparse.Namespace) -> int:
    with DbtCloud(_credentials(args)) as cloud:
        run = cloud.cancel(args.run_id)
        _emit(args, cloud, run, [], _outcome(run))
    return EXIT_OK


def handle_emulator(args: argparse.Namespace) -> int:
    """Serve the emulator. Its banner is printed unmasked: the token in it is the emulator's own, made up for
    this process so that the user can copy it (the masker would print it as ``***``)."""
    from dbt_kickoff.cloud.emulator import serve

    with contextlib.redirect_stdout(getattr(sys.stdout, "unmasked", sys.stdout)):
        serve(args.port, args.host, seed_demo=not args.no_demo)
    return EXIT_OK
