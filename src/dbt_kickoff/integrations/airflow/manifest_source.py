"""Where a task group finds the manifest it renders at DAG-parse time — the one place to change when manifests
come from the run records store (the warm-start issue) — and the render plans kept for it.

Order: the ``manifest`` the DAG gives (a mapping, or the path of a ``manifest.json``); else the newest complete
``manifest.json`` dbt left in the package's target folder (``target/`` and the per-dataset folders under it:
what the producer's last build, or any earlier ``dbt parse``, wrote). Only when there is none does dbt run, once
(``dbt parse`` with the group's connection): its manifest then stays in the target folder for every later parse.

Reading a 1,000-model manifest costs a DAG parse a third of a second, and Airflow parses the file every half
minute and in every task: the plan made from a manifest file is kept in the user's cache folder
(``<cache>/dbt-kickoff/airflow-plans/``), keyed by the file (path, size, modification time) and the rendering
options, and read instead of the manifest while the file is unchanged.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from dbt_kickoff.atomic import write_atomically
from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.integrations.airflow.plan import PlannedTask, RenderPlan
from dbt_kickoff.version import __version__

logger = logging.getLogger("dbt_kickoff.airflow")

ManifestInput = Mapping[str, Any] | str | os.PathLike[str] | None
PLAN_FORMAT = 1
KEEP_PLANS = 20


def render_plan(package_dir: Path, manifest: ManifestInput, options: Mapping[str, Any],
                make: Callable[[Mapping[str, Any]], RenderPlan], parse: Callable[[], Path] | None) -> RenderPlan:
    """The plan ``make`` makes from the manifest to render (see the module docstring); ``options`` are what
    ``make`` depends on besides the manifest; ``parse`` runs ``dbt parse`` and returns the folder it wrote into,
    called only when no manifest is stored."""
    if isinstance(manifest, Mapping):
        return make(manifest)
    candidates = [Path(manifest)] if manifest is not None else _candidates(package_dir / "target")
    for candidate in candidates:
        plan = _plan_of(candidate, options, make, required=manifest is not None)
        if plan is not None:
            return plan
    if parse is None:
        raise ConfigurationError(f"no dbt manifest in {package_dir / 'target'}: run `dbt parse` on the package, or "
                                 "give the task group manifest=<path of a manifest.json>")
    logger.warning("no stored dbt manifest for %s: running dbt parse once (later parses read its manifest)",
                   package_dir)
    plan = _plan_of(parse() / "manifest.json", options, make, required=True)
    assert plan is not None
    return plan


def _plan_of(path: Path, options: Mapping[str, Any], make: Callable[[Mapping[str, Any]], RenderPlan], *,
             required: bool) -> RenderPlan | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        if required:
            raise ConfigurationError(f"no dbt manifest at {path}") from None
        return None
    key = hashlib.sha256(json.dumps([PLAN_FORMAT, __version__, str(path.resolve()), stat.st_size, stat.st_mtime_ns,
                                     options], sort_keys=True, default=str).encode()).hexdigest()[:32]
    kept = _kept(key)
    if kept is not None:
        return kept
    manifest = _read(path, required=required)
    if manifest is None:
        return None
    plan = make(manifest)
    _keep(key, plan)
    return plan


def _candidates(target: Path) -> list[Path]:
    """``manifest.json`` files in ``target`` and its direct subfolders, newest first."""
    if not target.is_dir():
        return []
    files = [target / "manifest.json", *(sub / "manifest.json" for sub in target.iterdir() if sub.is_dir())]
    stamped = []
    for file in files:
        try:
            stamped.append((file.stat().st_mtime, file))
        except OSError:
            continue
    return [file for _, file in sorted(stamped, reverse=True)]


def _read(path: Path, *, required: bool) -> dict[str, Any] | None:
    """A parsed manifest; ``None`` for one being written right now (invalid JSON) unless ``required``."""
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        if required:
            raise ConfigurationError(f"no dbt manifest at {path}") from None
        return None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        if required:
            raise ConfigurationError(f"{path} is not a dbt manifest (invalid JSON: {exc})") from None
        return None
    if not isinstance(data, dict) or "nodes" not in data or "metadata" not in data:
        if required:
            raise ConfigurationError(f"{path} is not a dbt manifest (no 'metadata' or 'nodes')")
        return None
    return data


# -- kept plans ---------------------------------------------------------------------------------------------------
def _plans_folder() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("dbt-kickoff")) / "airflow-plans"


def _kept(key: str) -> RenderPlan | None:
    try:
        data = json.loads((_plans_folder() / f"{key}.json").read_bytes())
        return RenderPlan(
            tasks=tuple(PlannedTask(**{**task, "unique_ids": tuple(task["unique_ids"]),
                                       "upstream": tuple(task["upstream"]), "selectors": tuple(task["selectors"]),
                                       "relation": tuple(task["relation"]) if task["relation"] else None})
                        for task in data["tasks"]),
            node_ids=frozenset(data["node_ids"]), project_name=data["project_name"],
            test_behavior=data["test_behavior"],
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _keep(key: str, plan: RenderPlan) -> None:
    """Keep the plan (a cache: a folder that cannot be written to is no error), and only the newest few."""
    folder = _plans_folder()
    data = {"tasks": [asdict(task) for task in plan.tasks], "node_ids": sorted(plan.node_ids),
            "project_name": plan.project_name, "test_behavior": plan.test_behavior}
    try:
        write_atomically(folder / f"{key}.json", json.dumps(data, separators=(",", ":")), private=False)
        kept = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in kept[KEEP_PLANS:]:
            old.unlink(missing_ok=True)
    except OSError as exc:
        logger.debug("could not keep the render plan in %s: %s", folder, exc)
