"""Where a task group finds the manifest it renders at DAG-parse time — the one place to change when manifests
come from the run records store (the warm-start issue).

Order: the ``manifest`` the DAG gives (a mapping, or the path of a ``manifest.json``); else the newest complete
``manifest.json`` dbt left in the package's target folder (``target/`` and the per-dataset folders under it:
what the producer's last build, or any earlier ``dbt parse``, wrote). Only when there is none does dbt run, once
(``dbt parse`` with the group's connection): its manifest then stays in the target folder for every later parse.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from dbt_kickoff.errors import ConfigurationError

logger = logging.getLogger("dbt_kickoff.airflow")

ManifestInput = Mapping[str, Any] | str | os.PathLike[str] | None


def stored_manifest(package_dir: Path, manifest: ManifestInput = None,
                    parse: Callable[[], Path] | None = None) -> dict[str, Any]:
    """The manifest to render ``package_dir`` from (see the module docstring). ``parse`` runs ``dbt parse`` and
    returns the folder it wrote into; it is called only when no manifest is stored."""
    if isinstance(manifest, Mapping):
        return dict(manifest)
    if manifest is not None:
        return _read(Path(manifest), required=True) or {}
    for candidate in _candidates(package_dir / "target"):
        found = _read(candidate, required=False)
        if found is not None:
            return found
    if parse is None:
        raise ConfigurationError(f"no dbt manifest in {package_dir / 'target'}: run `dbt parse` on the package, or "
                                 "give the task group manifest=<path of a manifest.json>")
    logger.warning("no stored dbt manifest for %s: running dbt parse once (later parses read its manifest)",
                   package_dir)
    folder = parse()
    found = _read(folder / "manifest.json", required=True)
    assert found is not None
    return found


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
