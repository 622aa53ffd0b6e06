"""dbt command lines and the identity of a call, built from their inputs only (no dbt, no files, no runner).

The one home of: which flags each dbt command takes, the flags that choose or narrow the nodes a command runs,
the vars every dlt-style package receives, the name of a dataset's target folder, the key of a parsed manifest,
and :class:`RecordIdentity` — which package, target, vars and dbt version a call belongs to (what run records are
found by). Nothing here parses a command line back.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

# Commands that take the flags below; anything else gets only --project-dir/--profiles-dir/--vars.
THREADED_COMMANDS = frozenset({"run", "test", "seed", "build", "snapshot", "compile", "source", "show", "retry"})
FULL_REFRESH_COMMANDS = frozenset({"run", "build", "seed"})
NO_PROFILE_COMMANDS = frozenset({"clean", "init"})
# Commands that run without the package's installed dbt packages (every other command needs them).
PACKAGE_FREE_COMMANDS = frozenset({"deps", "clean", "debug", "init"})
# Commands that write artifacts, so they get the runner's target path (``dbt clean`` keeps the project's).
TARGET_PATH_COMMANDS = frozenset(
    {"build", "compile", "docs", "show", "list", "ls", "parse", "run", "retry", "clone", "run-operation", "seed",
     "snapshot", "source", "test"}
)
# Commands that work from a parsed manifest, so a warm worker can hand them the one it keeps.
MANIFEST_COMMANDS = frozenset(
    {"run", "test", "seed", "build", "snapshot", "compile", "ls", "list", "show", "source", "run-operation"}
)
CHOOSING_FLAGS = frozenset({"--select", "-s", "--selector", "--models", "-m"})
"""Flags that choose which nodes run (a changed-only call chooses them itself)."""
NARROWING_FLAGS = CHOOSING_FLAGS | {"--exclude", "--resource-type", "--resource-types", "--inline"}
"""Flags that leave some nodes out: a call given one does not bring every node up to date."""


def _flags(args: Iterable[Any]) -> set[str]:
    return {str(arg).split("=", 1)[0] for arg in args}


def chooses_nodes(args: Iterable[Any]) -> bool:
    """True when ``args`` (a call's own dbt arguments) choose which nodes run."""
    return bool(_flags(args) & CHOOSING_FLAGS)


def narrows_nodes(args: Iterable[Any]) -> bool:
    """True when ``args`` leave some of the package's nodes out (a selection, an exclusion...)."""
    return bool(_flags(args) & NARROWING_FLAGS)


def command_name(command: Sequence[str]) -> str:
    """``["source", "freshness", ...]`` -> ``"source freshness"``; otherwise the first word."""
    return " ".join(command[:2]) if list(command[:2]) == ["source", "freshness"] else command[0]


def dataset_vars(destination_dataset: str | None, source_dataset: str | None,
                 additional_vars: Mapping[str, Any] | None) -> dict[str, Any]:
    """The vars dlt-style packages expect (``source_dataset_name``, ``destination_dataset_name``) plus the
    caller's, which win."""
    variables: dict[str, Any] = {}
    if destination_dataset or source_dataset:
        variables["source_dataset_name"] = source_dataset or destination_dataset
        variables["destination_dataset_name"] = destination_dataset or source_dataset
    variables.update(additional_vars or {})
    return variables


def vars_text(variables: Mapping[str, Any]) -> str:
    """The ``--vars`` argument dbt receives for ``variables``."""
    return json.dumps(dict(variables), default=str)


def as_received(variables: Mapping[str, Any]) -> dict[str, Any]:
    """``variables`` as dbt receives them (through :func:`vars_text`): JSON values only."""
    return dict(json.loads(vars_text(variables))) if variables else {}


def profile_args(profiles_dir: Path | None, profile_name: str | None, target: str | None) -> list[str]:
    args: list[str] = []
    if profiles_dir is not None:
        args += ["--profiles-dir", str(profiles_dir)]
    if profile_name:
        args += ["--profile", profile_name]
    if target:
        args += ["--target", target]
    return args


def selector_args(select: str | Sequence[str] | None, exclude: str | Sequence[str] | None) -> list[str]:
    """dbt's ``--select`` / ``--exclude`` flags for a selector given as one string or a list of them."""
    args: list[str] = []
    for flag, value in (("--select", select), ("--exclude", exclude)):
        if value:
            args += [flag, *([value] if isinstance(value, str) else value)]
    return args


def state_folder(dataset: str | None, profile_identity: Sequence[str]) -> str:
    """The name of the folder (under the project's target path) that keeps one profile and dataset's artifacts
    and parse state: the dataset, made safe for a file name, and a short hash of the profile and dataset."""
    digest = hashlib.sha256(json.dumps([dataset, list(profile_identity)]).encode()).hexdigest()[:10]
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "_", dataset or "default").strip(".")[:40] or "default"
    return f"{readable}-{digest}"


def command_line(command: Sequence[str], *, project_dir: Path, profile: Sequence[str] = (),
                 variables: Mapping[str, Any] | None = None, threads: int | None = None,
                 full_refresh: bool = False, target_path: Path | None = None) -> list[str]:
    """The arguments of one dbt command (without the ``dbt`` executable)."""
    name = command[0]
    args = [*command, "--project-dir", str(project_dir), "--no-use-colors"]
    if name in NO_PROFILE_COMMANDS:
        return args
    if target_path is not None and name in TARGET_PATH_COMMANDS and "--target-path" not in command:
        args += ["--target-path", str(target_path)]
    args += profile
    if variables:
        args += ["--vars", vars_text(variables)]
    if threads and name in THREADED_COMMANDS and "--threads" not in command:
        args += ["--threads", str(threads)]
    if full_refresh and name in FULL_REFRESH_COMMANDS and "--full-refresh" not in command:
        args.append("--full-refresh")
    return args


def manifest_key(project_fingerprint: str, parse_args: Sequence[str]) -> str:
    """Stays the same while the project files and the parse command line (profile, vars) stay the same."""
    return hashlib.sha256(json.dumps([project_fingerprint, list(parse_args)]).encode()).hexdigest()


def short_hash(value: Any) -> str:
    """A stable 16-hex-digit hash of a JSON-able value (keys sorted)."""
    text = json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def package_key(package_location: str, project_name: str) -> str:
    """What records of one package are kept under (retry and retention look it up)."""
    return short_hash([package_location, project_name])


@dataclass(frozen=True)
class RecordIdentity:
    """What a call ran: the package, where it wrote (target: adapter, database, schema and dataset), with which
    vars and dbt version.

    ``target_key`` tells one place apart from another: the profile and target names, the adapter, ``location`` (a
    hash of what identifies the database: a DuckDB file, a host and database...), the profile's schema and the
    call's ``dataset``. ``state_key`` (package, target, vars, dbt version) is what changed-only builds look up;
    ``retry_key`` (package and target) what ``retry`` looks up; ``package_key`` what retention uses.
    """

    package_location: str
    project_name: str
    profile_name: str | None
    target: str | None
    adapter_type: str | None
    schema: str | None
    vars_hash: str
    dbt_version: str | None
    location: str | None = None
    dataset: str | None = None

    @property
    def package_key(self) -> str:
        return package_key(self.package_location, self.project_name)

    @property
    def target_key(self) -> str:
        return short_hash([self.profile_name, self.target, self.adapter_type, self.schema, self.location,
                           self.dataset])

    @property
    def retry_key(self) -> str:
        return short_hash([self.package_key, self.target_key])

    @property
    def state_key(self) -> str:
        return short_hash([self.package_key, self.target_key, self.vars_hash, self.dbt_version])

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "package_key": self.package_key, "target_key": self.target_key,
                "retry_key": self.retry_key, "state_key": self.state_key}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RecordIdentity:
        names = ("package_location", "project_name", "profile_name", "target", "adapter_type", "schema",
                 "vars_hash", "dbt_version", "location", "dataset")
        return cls(**{name: data.get(name) for name in names})  # type: ignore[arg-type]
