"""dbt command lines, built from their inputs only (no dbt, no files, no runner state)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

# Commands that take the flags below; anything else gets only --project-dir/--profiles-dir/--vars.
THREADED_COMMANDS = frozenset({"run", "test", "seed", "build", "snapshot", "compile", "source", "show", "retry"})
FULL_REFRESH_COMMANDS = frozenset({"run", "build", "seed"})
NO_PROFILE_COMMANDS = frozenset({"clean", "init"})
# Commands that write artifacts, so they get the runner's target path (``dbt clean`` keeps the project's).
TARGET_PATH_COMMANDS = frozenset(
    {"build", "compile", "docs", "show", "list", "ls", "parse", "run", "retry", "clone", "run-operation", "seed",
     "snapshot", "source", "test"}
)
# Commands that work from a parsed manifest, so a warm worker can hand them the one it keeps.
MANIFEST_COMMANDS = frozenset(
    {"run", "test", "seed", "build", "snapshot", "compile", "ls", "list", "show", "source", "run-operation"}
)


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


def profile_args(profiles_dir: Path | None, profile_name: str | None, target: str | None) -> list[str]:
    args: list[str] = []
    if profiles_dir is not None:
        args += ["--profiles-dir", str(profiles_dir)]
    if profile_name:
        args += ["--profile", profile_name]
    if target:
        args += ["--target", target]
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
        args += ["--vars", json.dumps(dict(variables), default=str)]
    if threads and name in THREADED_COMMANDS and "--threads" not in command:
        args += ["--threads", str(threads)]
    if full_refresh and name in FULL_REFRESH_COMMANDS and "--full-refresh" not in command:
        args.append("--full-refresh")
    return args


def manifest_key(project_fingerprint: str, parse_args: Sequence[str]) -> str:
    """Stays the same while the project files and the parse command line (profile, vars) stay the same."""
    return hashlib.sha256(json.dumps([project_fingerprint, list(parse_args)]).encode()).hexdigest()
