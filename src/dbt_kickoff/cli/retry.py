"""``dbt-kickoff retry``: rerun only what a recorded run left failed, skipped or undone."""

from __future__ import annotations

import argparse
import json
import os
from contextlib import nullcontext
from typing import Any

from dbt_kickoff.cli import destination
from dbt_kickoff.cli.outcome import outcome_of, print_outcome, report_failure
from dbt_kickoff.cli.report import add_records_argument, storage_options
from dbt_kickoff.cloud import DbtCloud, DbtCloudRunFailed, resolve_credentials
from dbt_kickoff.cloud.options import CLOUD_OPTIONS
from dbt_kickoff.cloud.wait import DEFAULT_POLL_INTERVAL
from dbt_kickoff.errors import ConfigurationError, DBTProcessingError
from dbt_kickoff.progress import NodeProgress, console_for, results_table
from dbt_kickoff.records import Record, open_record
from dbt_kickoff.redaction import MASK
from dbt_kickoff.runner import PackageRunner, package
from dbt_kickoff.validation import cli_type


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "retry", help="rerun the failed and skipped nodes of a recorded run (and the steps it never reached)",
        description="Rerun what a recorded run left failed, skipped or undone, with dbt's retry. RECORD is a "
                    "record folder or URL, a record name (with --records), or 'latest' (the default). The package "
                    "and destination come from the record unless given; a destination with a password must be "
                    "given again (records never hold secrets). The record of a dbt Cloud run is rerun from failure "
                    "in dbt Cloud (once: a second retry reattaches to the rerun), with the token from "
                    "DBT_CLOUD__API_TOKEN.",
    )
    parser.add_argument("record", nargs="?", default="latest",
                        help="record folder/URL, name (see dbt-kickoff records), or 'latest'")
    add_records_argument(parser)
    parser.add_argument("--package-location", help="the package (default: the record's)")
    destination.add_destination_arguments(
        parser, default=f"the record's when it holds no secret, else ${destination.DEFAULT_ENV}")
    parser.add_argument("--dbt-version", help="run in a cached virtual environment with this dbt version")
    parser.add_argument("--poll-interval", type=cli_type(CLOUD_OPTIONS, "poll_interval", "--poll-interval"),
                        default=DEFAULT_POLL_INTERVAL, help="a dbt Cloud record: seconds between status checks")
    parser.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    parser.set_defaults(handler=handle_retry)


def _destination(record: Record, args: argparse.Namespace) -> Any:
    """The destination flags' (as for run), else the record's; a record whose destination needs credentials
    (records never keep them) takes them from the flags or ``$DBT_KICKOFF_DESTINATION``."""
    if destination.given(args):
        return args.resolved_destination
    recorded = record.data.get("destination") or {}
    output = recorded.get("output")
    if not output:
        return args.resolved_destination  # the package's own profiles.yml, unless $DBT_KICKOFF_DESTINATION
    text = json.dumps(output)
    if "env_var(" in text or MASK in text:  # a secret was left out of the record, or masked in it
        if args.resolved_destination is not None:
            return args.resolved_destination
        raise ConfigurationError(
            f"the record {record.name} was written to a {recorded.get('type')} destination whose credentials "
            f"are not kept in records: pass --destination-env NAME (a variable holding the URL), "
            f"--destination-file PATH, or set ${destination.DEFAULT_ENV}"
        )
    return dict(output)


def runner_for_record(record: Record, args: argparse.Namespace, on_event: Any = None) -> PackageRunner:
    """A runner on the record's package and destination (or those given), writing records where it came from."""
    options = record.data.get("runner") or {}
    venv = None
    if args.dbt_version:
        from dbt_kickoff.environments.venv import get_venv

        venv = get_venv(_destination(record, args), args.dbt_version)
    recorded = record.data.get("destination") or {}
    location = args.package_location or (record.data.get("package") or {}).get("location")
    if not location:
        raise ConfigurationError(f"the record {record.name} does not name its package: pass --package-location")
    return package(
        _destination(record, args),
        location,
        dataset_name=options.get("dataset_name"), source_dataset_name=options.get("source_dataset_name"),
        profiles_dir=recorded.get("profiles_dir"), profile_name=options.get("profile_name"),
        target=options.get("target"), threads=options.get("threads"), venv=venv, on_event=on_event,
        records=record.store.location, records_options=storage_options(args),
    )


def handle_retry(args: argparse.Namespace) -> int:
    record = open_record(args.record, args.records, storage_options(args))
    if record.data.get("cloud"):
        return retry_cloud_run(record, args)
    console = console_for(stderr=True)
    progress = NodeProgress(console) if not args.json else None
    runner = runner_for_record(record, args, on_event=progress)
    with runner:
        try:
            with progress or nullcontext():
                results = runner.retry(record)
        except DBTProcessingError:
            if args.json:
                print(json.dumps(runner.last_report.to_dict(), indent=2, default=str))
                raise
            return report_failure(runner.last_report, outcome_of(runner.last_report, args, {}))
    if args.json:
        print(json.dumps(runner.last_report.to_dict(), indent=2, default=str))
    elif not results:
        console.print(f"nothing to retry: the run {record.name} ended with '{record.outcome}'")
    else:
        print_outcome(runner.last_report, outcome_of(runner.last_report, args, {}), title=f"retry of {record.name}")
    return 0


def retry_cloud_run(record: Record, args: argparse.Namespace) -> int:
    """The record of a dbt Cloud run: rerun the run from failure in dbt Cloud (never twice), wait for it with live
    progress, record it next to the retried record. The token comes from ``DBT_CLOUD__API_TOKEN``; the account and
    host from the record unless the ``DBT_CLOUD__*`` variables say otherwise."""

    said = record.data["cloud"]
    env = {"DBT_CLOUD__ACCOUNT_ID": str(said.get("account_id")), "DBT_CLOUD__BASE_URL": str(said.get("access_url")),
           **os.environ}
    console = console_for(stderr=True)
    progress = NodeProgress(console) if not args.json else None
    with DbtCloud(resolve_credentials(None, environ=env), records=record.store.location,
                  records_options=storage_options(args)) as cloud:
        try:
            if progress is not None:
                with progress:
                    rerun = cloud.retry(record=record, on_event=progress, poll_interval=args.poll_interval)
            else:
                rerun = cloud.retry(record=record, poll_interval=args.poll_interval)
        except DbtCloudRunFailed as failed:
            if args.json:
                print(cloud.client.scrub(json.dumps({"outcome": "failed", "run": failed.run}, default=str)))
            raise
        results = cloud.node_results(rerun) if rerun["id"] != said.get("run_id") else []
    if args.json:
        print(cloud.client.scrub(json.dumps({"outcome": "success" if results else "nothing to retry", "run": rerun,
                                             "results": [r.to_dict() for r in results]}, indent=2, default=str)))
    elif not results:
        console.print(f"nothing to retry: dbt Cloud run {said.get('run_id')} ended with '{record.outcome}'")
    else:
        title = f"rerun {rerun['id']} of dbt Cloud run {said.get('run_id')}"
        console_for().print(results_table(results, title=title))
    return 0
