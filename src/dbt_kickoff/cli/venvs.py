"""``dbt-kickoff venv list|create|remove|prune``: inspect and manage the cache of dbt virtual environments."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

from dbt_kickoff.cli.options import CLI_OPTIONS
from dbt_kickoff.environments.cache import list_venvs, prune_venvs, remove_venv
from dbt_kickoff.environments.options import VENV_OPTIONS
from dbt_kickoff.environments.venv import get_venv
from dbt_kickoff.validation import cli_type


def option_type(option: str, flag: str) -> Callable[[str], Any]:
    """The argparse ``type=`` of a flag that takes the get_venv() option ``option`` (checked by its spec)."""
    return cli_type(VENV_OPTIONS, option, flag)


def register(subparsers: Any) -> None:
    venv = subparsers.add_parser("venv", help="list, create, remove or prune cached dbt virtual environments")
    actions = venv.add_subparsers(dest="venv_command", metavar="ACTION", required=True)

    def common(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--venv-dir",
            type=option_type("venv_dir", "--venv-dir"),
            help="the cache folder (default: the platform user cache dir)",
        )
        parser.add_argument("--json", action="store_true", help="print JSON")

    listing = actions.add_parser("list", help="list cached venvs, least recently used first")
    common(listing)
    listing.set_defaults(handler=_list)

    create = actions.add_parser("create", help="create (or reuse) a venv, like get_venv()")
    create.add_argument(
        "destination", nargs="?", help="a destination type (duckdb, postgres, ...); only its type matters"
    )
    create.add_argument("--adapter", action="append", dest="adapters", help="adapter type or distribution; repeat")
    create.add_argument(
        "--dbt-version",
        type=option_type("dbt_version", "--dbt-version"),
        help='a version ("1.11.2") or specifier (">=1.10,<1.12"); "fusion" or "2.*" for the dbt v2 engine',
    )
    create.add_argument(
        "--index-url",
        type=option_type("index_url", "--index-url"),
        help="a package index (PyPI mirror); with credentials, set UV_INDEX_URL instead of argv",
    )
    create.add_argument("--find-links", action="append", help="a folder or URL of wheels; repeat")
    create.add_argument("--no-index", action="store_true", help="do not use any package index")
    create.add_argument("--installer", choices=["auto", "uv", "pip"], default="auto")
    common(create)
    create.set_defaults(handler=_create)

    remove = actions.add_parser("remove", help="remove one venv by key or path")
    remove.add_argument("key_or_path")
    common(remove)
    remove.set_defaults(handler=_remove)

    prune = actions.add_parser("prune", help="remove venvs unused for N days, unfinished venvs and leftovers")
    prune.add_argument(
        "--older-than-days", type=cli_type(CLI_OPTIONS, "older_than_days", "--older-than-days"), required=True,
        metavar="N",
    )
    common(prune)
    prune.set_defaults(handler=_prune)


def _list(args: argparse.Namespace) -> int:
    venvs = list_venvs(args.venv_dir, with_size=True)
    if args.json:
        print(json.dumps([venv.to_dict() for venv in venvs], indent=2))
        return 0
    if not venvs:
        print("no cached venvs")
    for venv in venvs:
        age = (time.time() - venv.last_used) / 86400
        state = _engine_label(venv.engine, venv.dbt_version) if venv.complete else "UNFINISHED"
        print(
            f"{venv.key}  {state}  python {venv.python_version or '?'}  {venv.size_bytes / 1e6:.0f} MB  "
            f"used {age:.1f} days ago  {' '.join(venv.requirements)}  {venv.path}"
        )
    return 0


def _engine_label(engine: str, dbt_version: str) -> str:
    """``v1 worker dbt-core 1.11.2``, ``v2 fusion dbt 2.0.0rc196`` or ``tool`` (a tool venv, no dbt): which
    engine runs it, and its version."""
    if engine == "tool":
        return "tool"
    return f"v2 fusion dbt {dbt_version}" if engine == "v2" else f"v1 worker dbt-core {dbt_version}"


def _create(args: argparse.Namespace) -> int:
    venv = get_venv(
        args.destination,
        args.dbt_version,
        adapters=args.adapters,
        venv_dir=args.venv_dir,
        index_url=args.index_url,
        find_links=args.find_links,
        no_index=args.no_index,
        installer=args.installer,
    )
    if args.json:
        print(
            json.dumps(
                {
                    "key": venv.key,
                    "path": str(venv.path),
                    "python": str(venv.python),
                    "dbt_version": venv.dbt_version,
                    "engine": venv.engine,
                    "engine_version": venv.engine_version,
                    "requirements": list(venv.requirements),
                    "installed": dict(venv.installed),
                },
                indent=2,
            )
        )
    else:
        print(
            f"{venv.path}  {_engine_label(venv.engine, venv.dbt_version)}  "
            f"({', '.join(f'{n} {v}' for n, v in venv.installed)})"
        )
    return 0


def _remove(args: argparse.Namespace) -> int:
    removed = remove_venv(args.key_or_path, args.venv_dir)
    print(json.dumps({"removed": [str(removed)]}) if args.json else f"removed {removed}")
    return 0


def _prune(args: argparse.Namespace) -> int:
    removed = prune_venvs(args.older_than_days, args.venv_dir)
    if args.json:
        print(json.dumps({"removed": [str(path) for path in removed]}))
    else:
        print("\n".join(f"removed {path}" for path in removed) or "nothing to prune")
    return 0
