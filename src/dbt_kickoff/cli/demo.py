"""``dbt-kickoff demo``: the main job end to end on an embedded DuckDB file, offline."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from dbt_kickoff.environments.options import VENV_OPTIONS
from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.validation import cli_type


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="load sample shop data with dlt into DuckDB and run the bundled dbt package on it",
        description=(
            "Load a sample online-shop data set with dlt into a DuckDB file, run the bundled dbt package "
            "(staging, incremental events, revenue/lifetime value/funnel/product marts, tests) with the Core "
            "runner, and print every node's result and a few metrics. Each run loads the next day."
        ),
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(".demo"),
        help="where the demo keeps its files (default: ./.demo)",
    )
    parser.add_argument("--json", action="store_true", help="print the load, results and metrics as JSON")
    parser.add_argument("--fresh", action="store_true", help="start over from the first load")
    parser.add_argument(
        "--cloud", action="store_true", help="run the transform as a dbt Cloud job (on the bundled emulator)"
    )
    parser.add_argument(
        "--dbt-version",
        type=cli_type(VENV_OPTIONS, "dbt_version", "--dbt-version"),
        help='run dbt from a cached venv with this version ("1.11.*"; "2" or "fusion" for the dbt v2 engine); '
        "default: the dbt installed next to dbt-kickoff",
    )
    parser.add_argument(
        "--drivers",
        type=cli_type(VENV_OPTIONS, "drivers", "--drivers"),
        help="dbt v2: a folder holding its DuckDB driver (libduckdb.so); or set ADBC_DRIVER_PATH",
    )
    parser.add_argument(
        "--venv-dir", type=cli_type(VENV_OPTIONS, "venv_dir", "--venv-dir"),
        help="the venv cache folder (with --dbt-version)",
    )
    parser.set_defaults(handler=handle_demo)


def handle_demo(args: argparse.Namespace) -> int:
    if args.cloud:
        if args.json or args.fresh or args.dbt_version or args.drivers or args.venv_dir:
            raise ConfigurationError(
                "--json, --fresh, --dbt-version, --drivers and --venv-dir do not apply to --cloud; run "
                "'dbt-kickoff demo --cloud'"
            )
        from dbt_kickoff.demo.cloud_demo import run_cloud_demo

        return run_cloud_demo(args.workdir)
    from dbt_kickoff.demo.run import run_demo

    return run_demo(args.workdir, json_output=args.json, fresh=args.fresh, dbt_version=args.dbt_version,
                    drivers=args.drivers, venv_dir=args.venv_dir)
