"""What is particular to the dbt v2 engine (dbt Fusion), run by the subprocess engine one process per command.

- Its ``--log-format json`` lines have dbt v1's envelope (``info``/``data``) and event names (``NodeStart``,
  ``NodeFinished`` with ``data.node_info`` and ``data.run_result``); node errors come as ``Generic`` error
  events formatted ``[error] [Name (dbtNNNN)]: message`` followed by ``--> file:line:column`` and, when
  ``RUST_BACKTRACE`` is set, a backtrace. :func:`wire_from_log` turns a line into the engines' event shape.
- Exit codes: 0 success, 1 error, 2 finished with warnings (a success): :data:`SUCCESS_EXIT_CODES`.
- Its ``run_results.json`` has v1's schema; a failed test's message is only ``"Error"``, which
  :func:`load_run_results` replaces by the number of failing rows.
- Errors raised while it loads the project (codes dbt1000-dbt1299: ``dbt_project.yml`` or YAML it does not
  accept, such as ``materialized:`` without ``+`` or test arguments not under ``arguments:``), a missing
  database driver (DuckDB's: ``Failed to load `duckdb` driver from name, then failed to load it from the
  CDN``; the others': ``HTTP error``), a DuckDB file written by a newer DuckDB than its driver reads, or an
  adapter it only runs when allowed: :func:`prerequisites_error` turns them into a
  :class:`~dbt_kickoff.errors.PrerequisitesException` naming each code, file and line and how to fix it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from dbt_kickoff.engines.base import wire_from_json_log
from dbt_kickoff.environments.drivers import duckdb_driver_package, duckdb_library_name
from dbt_kickoff.errors import PrerequisitesException
from dbt_kickoff.results import NodeResult, parse_run_results

SUCCESS_EXIT_CODES = frozenset({0, 2})
"""0: success; 2: finished with warnings (still a success); anything else is a failure."""

UNSUPPORTED_FLAGS = frozenset({"--use-colors", "--no-use-colors"})
"""v1 flags v2 ignores with a warning (dbt1700); its JSON logs have no colors anyway."""
PROJECT_ERROR_CODES = range(1000, 1300)
"""dbt1000-dbt1299: errors found while loading and parsing the project (before any node runs)."""

AUTOFIX_HINT = (
    "dbt v2 does not accept some project files dbt v1 accepts. To fix: `dbt-kickoff v2 check {project}` lists "
    "what dbt Labs' dbt-autofix would change and `dbt-kickoff v2 fix {project} --in-place` changes it (offline, "
    "with the schemas of your dbt v2 engine; without --in-place it writes a fixed copy), then run again; with "
    "network access `uvx dbt-autofix deprecations --path {project}` does the same; or keep this package on "
    "dbt v1 (get_venv(..., dbt_version=\"1.11.*\"))"
)
EXPERIMENTAL_HINT = (
    "set DBT_ALLOW_EXPERIMENTAL_ADAPTERS=true in the environment of the process that runs dbt-kickoff (dbt v2 "
    "runs this adapter only when asked to), or run this destination on dbt v1"
)
DRIVER_HINT = (
    "dbt v2 loads this adapter's database driver (ADBC) from its cache only, ~/.cache/com.getdbt/adbc/<platform>/ "
    "(under $XDG_CACHE_HOME when set; drivers= and ADBC_DRIVER_PATH are not used for it), and downloads it there "
    "on first use, which failed. Run once where dbt's CDN (public.cdn.getdbt.com) is reachable so it is cached, "
    "or copy the driver file there from a machine that has it. PostgreSQL's driver is also in the PyPI package "
    "adbc-driver-postgresql (adbc_driver_postgresql/libadbc_driver_postgresql.so), under the file name the v2 "
    "release asks for (2.0.0-preview.196: libadbc_driver_postgresql-0.21.0+dbt0.21.0.so)"
)
DUCKDB_DRIVER_HINT = (
    "dbt v2 found no DuckDB driver ({library}) and could not download one. To fix: put {library} of DuckDB 1.5 "
    "or newer in a folder (it is in the npm package {package}: `npm pack {package}`, then package/{library} "
    "of the archive) and pass the folder as get_venv(..., drivers=<folder>) (CLI: --drivers) or set "
    "ADBC_DRIVER_PATH=<folder> in the environment of the process that runs dbt-kickoff; or run this "
    "destination on dbt v1"
)
DUCKDB_FILE_HINT = (
    "dbt v2's DuckDB driver cannot read the database file: it was written by a newer DuckDB (storage version "
    "{found}; this driver reads {oldest}-{newest}). To fix: give v2 a {library} as new as the DuckDB that wrote "
    "the file (drivers= or ADBC_DRIVER_PATH), or keep the file in a format it reads: create it with "
    "duckdb.connect(path, config={{'storage_compatibility_version': 'v1.5.0'}}) before anything else writes "
    "it (later writes keep the format); or run this destination on dbt v1"
)

_DUCKDB_NOT_FOUND = re.compile(r"Failed to load `duckdb` driver")
_DUCKDB_FILE_VERSION = re.compile(
    r"database file with version number (\d+), but we can only read versions between (\d+) and (\d+)"
)
_HEADER = re.compile(r"^\[(?P<level>error|warning)\]\s*\[(?P<name>\w+)\s*\((?P<code>dbt\d+)\)\]:\s*")
_LOCATION = re.compile(r"^\s*-->\s*(?P<file>.+?):(?P<line>\d+)(?::(?P<column>\d+))?\s*$")
_BACKTRACE_FRAME = re.compile(r"^\s*\d+:\s")
_BACKTRACE_SOURCE = re.compile(r"^\s+at\s\S+:\d+")


def clean_message(text: str) -> str:
    """``text`` without the Rust backtrace v2 appends to errors when ``RUST_BACKTRACE`` is set."""
    lines = [
        line for line in text.splitlines() if not _BACKTRACE_FRAME.match(line) and not _BACKTRACE_SOURCE.match(line)
    ]
    return "\n".join(lines).rstrip()


@dataclass(frozen=True)
class FusionError:
    """One coded error of the v2 engine: ``[error] [SerializationError (dbt1013)]: ... --> dbt_project.yml:6:19``."""

    code: str
    name: str
    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None

    @property
    def number(self) -> int:
        return int(self.code.removeprefix("dbt"))

    def describe(self) -> str:
        where = f"{self.file}:{self.line}" if self.file and self.line else self.file or "(no file)"
        first = self.message.strip().splitlines()[0] if self.message.strip() else ""
        return f"{self.code} {self.name} at {where}: {first}"


def parse_error(text: str) -> FusionError | None:
    """Read one v2 error message; ``None`` when it is not in v2's coded format."""
    header = _HEADER.match(text.lstrip())
    if header is None:
        return None
    body = clean_message(text.lstrip()[header.end() :])
    file = line = column = None
    kept = []
    for row in body.splitlines():
        location = _LOCATION.match(row)
        if location and file is None:
            file, line = location["file"], int(location["line"])
            column = int(location["column"]) if location["column"] else None
        elif not location:
            kept.append(row)
    return FusionError(header["code"], header["name"], "\n".join(kept).strip(), file, line, column)


def command_line(args: Iterable[str]) -> list[str]:
    """A dbt v1 command line as v2 takes it: without the flags it no longer supports."""
    return [arg for arg in args if arg not in UNSUPPORTED_FLAGS]


def wire_from_log(record: Mapping[str, Any]) -> dict[str, Any]:
    """One v2 ``--log-format json`` record -> the engines' event shape: v1's, with v2's backtraces cut off."""
    wire = wire_from_json_log(record)
    wire["msg"] = clean_message(str(wire["msg"] or ""))
    return wire


def wrote(path: Path) -> bool:
    """True when the artifact at ``path`` was written by the v2 engine (its ``metadata.dbt_version`` is 2.x)."""
    try:
        with path.open(encoding="utf-8") as handle:
            head = handle.read(512)
    except OSError:
        return False
    found = re.search(r'"dbt_version"\s*:\s*"(\d+)\.', head)
    return bool(found and int(found.group(1)) >= 2)


GENERIC_MESSAGES = frozenset({"Error", "Compilation Error", "Runtime Error", "Database Error"})
"""What v2 writes as a failed node's message in run_results.json; its log says what went wrong."""


def _detail(result: NodeResult, errors: Iterable[str]) -> str | None:
    """The error v2 logged for ``result``'s node (``… Error in model <name> (<path>) …``), cleaned."""
    marker = f" in {result.resource_type} {result.model_name} ("
    for text in errors:
        if marker in text:
            parsed = parse_error(text)
            return parsed.message if parsed is not None else clean_message(text)
    return None


def load_run_results(path: Path, invocation_id: str | None, errors: Iterable[str] = ()) -> list[NodeResult] | None:
    """The v2 engine's run_results.json (or sources.json) as node results; ``None`` when absent or written by
    another invocation. A failed test's bare ``"Error"`` message becomes its number of failing rows; a failed
    node's generic message (``"Compilation Error"``) becomes the error v2 logged for it (``errors``)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    if invocation_id and data.get("metadata", {}).get("invocation_id") != invocation_id:
        return None
    results = []
    for result in parse_run_results(data):
        message = clean_message(result.message) if result.message else result.message
        if result.status == "fail" and message in (None, "Error") and result.failures is not None:
            message = f"Got {result.failures} failing row{'s' if result.failures != 1 else ''}"
        elif result.is_failure and (message is None or message in GENERIC_MESSAGES):
            message = _detail(result, errors) or message
        results.append(replace(result, message=message))
    return results


def prerequisites_error(
    messages: Iterable[str], *, nodes_failed: bool, project_dir: Path | None = None
) -> PrerequisitesException | None:
    """The :class:`PrerequisitesException` that v2's error ``messages`` call for, or ``None`` when they are
    ordinary failures (a model's SQL, a failing test, the database refusing a query...).

    A missing driver fails every node; project errors stop v2 before any node runs, so they count only when
    no node failed (``nodes_failed=False``).
    """
    errors = [error for error in map(parse_error, messages) if error is not None]
    driver_error = _driver_error([error.message for error in errors if error.name == "DbDriverFailed"])
    if driver_error is not None:
        return driver_error
    project_errors = [error for error in errors if error.number in PROJECT_ERROR_CODES]
    if nodes_failed or not project_errors:
        return None
    if all("DBT_ALLOW_EXPERIMENTAL_ADAPTERS" in error.message for error in project_errors):
        first = project_errors[0].message.splitlines()[0]
        return PrerequisitesException(f"dbt v2: {first} To fix: {EXPERIMENTAL_HINT}.")
    lines = [f"dbt v2 cannot run this package as it is ({len(project_errors)} error(s)):"]
    lines += [f"  - {error.describe()}" for error in project_errors]
    lines.append(AUTOFIX_HINT.format(project=project_dir or "<package folder>") + ".")
    return PrerequisitesException("\n".join(lines))


def _driver_error(messages: list[str]) -> PrerequisitesException | None:
    """The error for a database driver v2 could not load or use (it fails every node), or ``None``."""
    for message in messages:
        too_new = _DUCKDB_FILE_VERSION.search(message)
        if too_new:
            found, oldest, newest = too_new.groups()
            return PrerequisitesException(
                DUCKDB_FILE_HINT.format(found=found, oldest=oldest, newest=newest, library=duckdb_library_name())
                + "."
            )
        if _DUCKDB_NOT_FOUND.search(message):
            return PrerequisitesException(
                DUCKDB_DRIVER_HINT.format(library=duckdb_library_name(), package=duckdb_driver_package()) + "."
            )
        if "HTTP error" in message:
            return PrerequisitesException(f"dbt v2 could not load its database driver: {DRIVER_HINT}.")
    return None
