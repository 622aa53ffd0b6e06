"""What decides a node's result besides its code, where dbt's ``state:modified`` does not look: the vars set in
``dbt_project.yml`` (dbt compares none), its ``on-run-start``/``on-run-end`` hooks (no node holds them), the
values of the ``env_var()`` a node, a macro it uses or a YAML file reads, and the content of seeds over 1 MiB
(dbt keeps only their path as checksum).

:func:`inputs_now` is what a record keeps (hashes only: no var or env var value is written anywhere);
:func:`input_changes` compares it with the good run's and says which nodes must be built, and why.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dbt_kickoff.changed import summary as texts
from dbt_kickoff.changed.selection import BUILT_TYPES
from dbt_kickoff.core.invocations import short_hash
from dbt_kickoff.core.project import Project
from dbt_kickoff.fingerprint import DYNAMIC, env_var_names
from dbt_kickoff.profiles.model import SECRET_ENV_PREFIX
from dbt_kickoff.redaction import is_secret_key

_YAML = (".yml", ".yaml")
NOT_PROJECT_INPUTS = frozenset({"profiles.yml", "packages.yml", "dependencies.yml", "package-lock.yml"})
"""Files at the project's top whose env vars do not decide node results (the target is identified apart, and
installed packages are read by content)."""


def checkable(name: str) -> bool:
    """An env var whose value may be compared (by hash): not computed, not a secret by its name."""
    return name != DYNAMIC and not name.startswith(SECRET_ENV_PREFIX) and not is_secret_key(name)


PROJECT_HOOKS = ("on-run-start", "on-run-end")


def _package_settings(project: Project, keys: tuple[str, ...]) -> dict[str, Any]:
    """The ``keys`` of ``dbt_project.yml`` (``""``) and of each installed package's (by its project name), for
    those that set any."""
    found: dict[str, Any] = {"": [project.data.get(key) for key in keys]}
    packages = project.packages_dir
    for path in sorted(packages.glob("*/dbt_project.yml")) if packages.is_dir() else ():
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            found[str(data.get("name") or path.parent.name)] = [data.get(key) for key in keys]
        except (OSError, yaml.YAMLError, AttributeError):
            found[path.parent.name] = path.read_bytes().hex()
    return {name: value for name, value in found.items() if name == "" or any(value)}


def inputs_now(project: Project) -> dict[str, Any]:
    """What the next changed-only call compares with: a hash of the project vars, of each checkable env var's
    value, and each large file's content hash."""
    files = project.files
    return {
        "project_vars": short_hash(_package_settings(project, ("vars",))[""]),
        "package_vars": {name: short_hash(value) for name, value in _package_settings(project, ("vars",)).items()
                         if name},
        "project_hooks": short_hash(_package_settings(project, PROJECT_HOOKS)),
        "env_vars": {name: short_hash([name, os.environ.get(name)]) for name in sorted(files.env_vars)
                     if checkable(name)},
        "large_files": dict(files.large_files),
    }


@dataclass
class InputChanges:
    """``everything``: why all nodes must be built (``None``: only ``nodes``); ``nodes``: unique_id -> reason."""

    everything: str | None = None
    nodes: dict[str, str] = field(default_factory=dict)


def _env_vars_by_node(manifest: Mapping[str, Any]) -> dict[str, set[str]]:
    """unique_id -> the env vars a node reads, itself or through the macros it uses (transitively)."""
    macros = manifest.get("macros") or {}
    direct = {uid: env_var_names(str(m.get("macro_sql") or "")) for uid, m in macros.items()
              if "env_var" in str(m.get("macro_sql") or "")}
    memo: dict[str, set[str]] = {}

    def of_macro(uid: str, seen: frozenset[str]) -> set[str]:
        if uid in memo:
            return memo[uid]
        names = set(direct.get(uid, ()))
        for called in ((macros.get(uid) or {}).get("depends_on") or {}).get("macros") or ():
            if called not in seen:
                names |= of_macro(called, seen | {uid})
        memo[uid] = names
        return names

    found: dict[str, set[str]] = {}
    for group in ("nodes", "unit_tests"):
        for uid, node in (manifest.get(group) or {}).items():
            if node.get("resource_type") not in BUILT_TYPES:
                continue
            names = env_var_names(str(node.get("raw_code") or "")) if "env_var" in str(node.get("raw_code")) else set()
            for macro in (node.get("depends_on") or {}).get("macros") or ():
                names |= of_macro(macro, frozenset())
            if names:
                found[uid] = names
    return found


def _seeds_by_file(manifest: Mapping[str, Any], project: Project) -> dict[str, str]:
    """The relative path (as the project scan names it) -> unique_id of each seed."""
    root_package = str(project.data.get("name"))
    packages = os.path.relpath(project.packages_dir, project.dir)
    found: dict[str, str] = {}
    for uid, node in (manifest.get("nodes") or {}).items():
        if node.get("resource_type") != "seed" or not node.get("original_file_path"):
            continue
        path = str(node["original_file_path"])
        package = str(node.get("package_name"))
        found[os.path.normpath(path if package == root_package else os.path.join(packages, package, path))] = uid
    return found


def input_changes(project: Project, then: Mapping[str, Any] | None, now: Mapping[str, Any],
                  manifest: Mapping[str, Any]) -> InputChanges:
    """What ``now`` (:func:`inputs_now`) changed since ``then`` (the good run's; ``None`` when it recorded none),
    on the nodes of ``manifest`` (the current code's)."""
    if then is None:
        return InputChanges(everything=texts.INPUTS_NOT_RECORDED)
    if then.get("project_vars") != now["project_vars"]:
        return InputChanges(everything=texts.PROJECT_VARS_CHANGED)
    if then.get("project_hooks") != now["project_hooks"]:
        return InputChanges(everything=texts.PROJECT_HOOKS_CHANGED)
    changes = InputChanges()
    files = project.files
    recorded_env = then.get("env_vars") or {}
    changed_env = {name for name in files.env_vars  # what cannot be compared counts as changed
                   if not checkable(name) or recorded_env.get(name) != now["env_vars"].get(name)}
    in_yaml = sorted(name for name in changed_env if any(Path(p).suffix in _YAML and p not in NOT_PROJECT_INPUTS
                                                          for p in files.env_vars[name]))
    if in_yaml:
        return InputChanges(everything=texts.env_var_reason(in_yaml[0], in_yaml[0] in now["env_vars"]))
    for uid, names in _env_vars_by_node(manifest).items():
        hit = sorted(names & changed_env)
        if hit:
            changes.nodes[uid] = texts.env_var_reason(hit[0], checkable(hit[0]))
    recorded_packages = then.get("package_vars") or {}
    for package, digest in now["package_vars"].items():  # a package's own vars reach its own nodes only
        if recorded_packages.get(package) != digest:
            for uid, node in (manifest.get("nodes") or {}).items():
                if node.get("package_name") == package and node.get("resource_type") in BUILT_TYPES:
                    changes.nodes.setdefault(uid, texts.package_vars_changed(package))
    recorded_large = then.get("large_files") or {}
    seeds = _seeds_by_file(manifest, project)
    for path, content in now["large_files"].items():
        if recorded_large.get(path) != content and path in seeds:
            changes.nodes.setdefault(seeds[path], texts.LARGE_SEED_CHANGED)
    return changes


def relations_moved(then: Mapping[str, Any], now: Mapping[str, Any]) -> dict[str, str]:
    """unique_id -> reason for each node whose relation (database, schema, alias as dbt resolved them: a new
    ``generate_schema_name`` moves every node, yet no node lists it) differs from the good run's manifest."""
    before = then.get("nodes") or {}
    moved: dict[str, str] = {}
    for uid, node in (now.get("nodes") or {}).items():
        old = before.get(uid)
        if old is None or node.get("resource_type") not in BUILT_TYPES:
            continue
        if [node.get(k) for k in ("relation_name", "database", "schema", "alias")] != \
                [old.get(k) for k in ("relation_name", "database", "schema", "alias")]:
            moved[uid] = texts.RELATION_MOVED
    return moved
