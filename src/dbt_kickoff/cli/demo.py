"""``dbt-kickoff demo``: the main job end to end on an embedded DuckDB file, offline."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from dbt_kickoff.errors import ConfigurationError


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
    parser.set_defaults(handler=handle_demo)


def handle_demo(args: argparse.Namespace) -> int:
    if args.cloud:
        if args.json or args.fresh:
            raise ConfigurationError(
                "--json and --fresh do not apply to --cloud; run 'dbt-kickoff demo --cloud'"
            )
        from dbt_kickoff.demo.cloud_demo import run_cloud_demo

        return run_cloud_demo(args.workdir)
    from dbt_kickoff.demo.run import run_demo

    return run_demo(args.workdir, json_output=args.json, fresh=args.fresh)
