"""The keys warm state is kept under, computed from what a call knows before dbt starts (no dbt, no network).

- The **parse-state key** holds what dbt checks before it accepts a saved ``partial_parse.msgpack``
  (``ManifestLoader.is_partial_parsable`` in dbt-core 1.11: the dbt version; the ``--vars``, profile and target
  names; the profile's connection fields; the env vars ``dbt_project.yml`` reads; each project's
  ``dbt_project.yml``), a little more (the whole profile output as dbt-kickoff writes it, secrets as
  ``env_var()`` references; the dataset), and nothing of where the project lies on disk. The project's other
  files are left out on purpose: dbt compares each file's checksum itself and parses only what differs, so a
  state published from another commit is still a good start. A manifest for orchestrators must match the files
  exactly: it is kept under this key *and* the project's content fingerprint.
- The **packages key** holds what ``dbt deps`` installs from: ``packages.yml``, ``dependencies.yml``,
  ``package-lock.yml`` as they are before it runs, the env vars they read, and the dbt version.

Env var values enter the keys only as part of a SHA-256 digest.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from dbt_kickoff.core.call import Call
from dbt_kickoff.core.project import Project
from dbt_kickoff.fingerprint import DYNAMIC

KEY_FORMAT = 1
DEPENDENCY_FILES = ("packages.yml", "dependencies.yml", "package-lock.yml")


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _file_hash(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


def _env_read_by(env_vars: Mapping[str, list[str]], files: Iterable[str]) -> dict[str, str | None] | None:
    """The values of the env vars ``files`` read (``None`` when one's name is computed: it cannot be known)."""
    wanted = set(files)
    names = sorted(name for name, paths in env_vars.items() if wanted & set(paths))
    if DYNAMIC in names:
        return None
    return {name: os.environ.get(name) for name in names}


def dbt_major(version: str | None) -> int | None:
    try:
        return int(str(version).split(".")[0])
    except ValueError:
        return None


def parse_state_key(call: Call, dbt_version: str) -> str | None:
    """The key of the call's parse state (see the module docstring); ``None`` when it cannot be told (a
    ``dbt_project.yml`` that reads an env var whose name is computed)."""
    project = call.project
    identity = call.identity(start_dbt=False)
    project_env = _env_read_by(project.files.env_vars, ["dbt_project.yml"])
    if project_env is None:
        return None
    profile = call.profile
    if profile is not None:
        output = profile.with_schema(identity.dataset).output if identity.dataset else profile.output
        where: dict[str, Any] = {"adapter": profile.adapter_type, "output": dict(output)}
    else:  # the package's own profiles.yml: the target it selects, without the file's path
        where = {key: value for key, value in call.location().items() if key != "profiles.yml"}
    return _digest({
        "format": KEY_FORMAT, "dbt_version": dbt_version, "project": project.name,
        "dbt_project.yml": _file_hash(project.dir / "dbt_project.yml"), "project_env": project_env,
        "profile": identity.profile_name, "target": identity.target, "dataset": identity.dataset, "where": where,
        "vars": identity.vars_hash,
    })


def packages_key(project: Project, dbt_version: str) -> str | None:
    """The key of the packages ``dbt deps`` would install now; ``None`` when the package declares none or the
    declaration reads an env var whose name is computed."""
    if not project.has_package_dependencies:
        return None
    env = _env_read_by(project.files.env_vars, DEPENDENCY_FILES)
    if env is None:
        return None
    return _digest({
        "format": KEY_FORMAT, "dbt_version": dbt_version, "env": env,
        "files": {name: _file_hash(project.dir / name) for name in DEPENDENCY_FILES},
    })
