"""Where the command line's destination comes from — a flag, an environment variable or a file — and which
secrets it holds (so that the CLI can mask them in everything it prints).

A password typed on a command line can be read by every user of the machine (``ps``), so besides
``--destination URL`` the destination may come from ``--destination-env NAME``, ``--destination-file PATH``
(a URL, or a JSON object shaped like a dbt profile output), or the ``DBT_KICKOFF_DESTINATION`` variable.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.redaction import is_secret_key, redact_url
from dbt_kickoff.validation import cli_text

DEFAULT_ENV = "DBT_KICKOFF_DESTINATION"


def add_destination_arguments(parser: argparse.ArgumentParser,
                              default: str = f"${DEFAULT_ENV}, else the package's profiles.yml") -> None:
    """``--destination`` / ``--destination-env`` / ``--destination-file`` (one of them); ``default`` says
    where the destination comes from without them."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--destination", type=cli_text("--destination"),
                       help="connection URL, e.g. duckdb:///warehouse.duckdb (a password here is visible to other "
                       f"users in `ps`: prefer --destination-env/-file); default: {default}")
    group.add_argument("--destination-env", metavar="NAME", type=cli_text("--destination-env"),
                       help="read the destination URL from this environment variable")
    group.add_argument("--destination-file", metavar="PATH", type=cli_text("--destination-file"),
                       help="read the destination from this file: a URL, or a JSON object like a dbt profile output")


def given(args: argparse.Namespace) -> bool:
    """True when one of the destination flags was given (not only ``$DBT_KICKOFF_DESTINATION``)."""
    return any(getattr(args, name, None) is not None for name in ("destination", "destination_env",
                                                                   "destination_file"))


def resolve(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> Any:
    """The destination the flags name (``None``: the package's own profiles.yml); warns about argv passwords."""
    environ = os.environ if environ is None else environ
    if args.destination is not None:
        if secrets_in(args.destination):
            print(
                "warning: --destination holds a password or token, which other users of this machine can read "
                f"(ps); pass it with --destination-env NAME, --destination-file PATH or ${DEFAULT_ENV} instead",
                file=sys.stderr,
            )
        return args.destination
    if args.destination_env is not None:
        value = environ.get(args.destination_env)
        if not value:
            raise ConfigurationError(f"--destination-env: the environment variable {args.destination_env} is not set")
        return value.strip()
    if args.destination_file is not None:
        return _read_file(Path(args.destination_file).expanduser())
    return environ.get(DEFAULT_ENV, "").strip() or None


def _read_file(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigurationError(f"--destination-file {path}: cannot be read ({exc.strerror})") from None
    if not text:
        raise ConfigurationError(f"--destination-file {path} is empty")
    if not text.startswith("{"):
        return text
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"--destination-file {path}: not a valid JSON object (line {exc.lineno})") from None
    if not isinstance(value, dict):
        raise ConfigurationError(f"--destination-file {path} must hold a URL or a JSON object")
    return value


def secrets_in(destination: Any) -> list[str]:
    """The secret values of a destination URL (password, token user, secret parameters) or mapping."""
    if isinstance(destination, Mapping):
        return [str(v) for k, v in _leaves(destination) if is_secret_key(k) and v not in (None, "")]
    if not isinstance(destination, str):
        return []
    text = destination.strip()
    found: list[str] = []
    rest = text.partition("://")[2] if "://" in text else text.partition(":")[2]
    if "@" in rest:
        userinfo = rest.rpartition("@")[0]
        user, sep, password = userinfo.partition(":")
        found += [unquote(password), password] if sep else []
        if not sep and redact_url(text) != text:  # a token given as the user name
            found += [unquote(user), user]
    try:
        query = urlsplit(text).query
    except ValueError:
        query = text.partition("?")[2]
    found += [value for key, value in parse_qsl(query, keep_blank_values=False) if is_secret_key(key)]
    return [value for value in found if value]


def _leaves(mapping: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    leaves: list[tuple[str, Any]] = []
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            leaves += _leaves(value, f"{name}_")
        else:
            leaves.append((name, value))
    return leaves
