"""One dbt package as a call sees it: its folder, ``dbt_project.yml`` (read once), where dbt writes, its seeds
and packages, and the fingerprint of its files (taken once per call, again only after ``dbt deps``)."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from dbt_kickoff.atomic import write_atomically
from dbt_kickoff.errors import PrerequisitesException
from dbt_kickoff.fingerprint import project_fingerprint
from dbt_kickoff.sources import ResolvedPackage, read_project_file

DEPS_STAMP = ".dbt-kickoff-deps"
"""The file beside installed packages that says what ``dbt deps`` installed (so a new process can skip it)."""


def _configured_path(project_dir: Path, env_name: str, configured: object, default: str) -> Path:
    path = Path(str(os.environ.get(env_name) or configured or default))
    return path if path.is_absolute() else project_dir / path


def ensure_writable(folder: Path, what: str, setting: str) -> None:
    """Create ``folder`` when absent and prove a file can be written in it, so dbt does not fail half-way;
    else :class:`PrerequisitesException` naming the folder. ``setting``: how to point dbt elsewhere."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".dbt-kickoff-probe-"):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise PrerequisitesException(
            f"dbt cannot write its {what} to {folder} ({reason}): make that folder writable, or point {setting} "
            "to a writable folder"
        ) from None


class Project:
    """A resolved package and its ``dbt_project.yml``; what is derived from them is computed once."""

    def __init__(self, package: ResolvedPackage, data: Mapping[str, Any] | None = None) -> None:
        self.package = package
        self.data: Mapping[str, Any] = data if data is not None else (
            package.project or read_project_file(package.project_dir, package.location))
        self._fingerprint: str | None = None

    @property
    def dir(self) -> Path:
        return self.package.project_dir

    @property
    def location(self) -> str:
        """Where the package came from, safe to log."""
        return self.package.location

    @property
    def commit_sha(self) -> str | None:
        return self.package.commit_sha

    @property
    def name(self) -> str:
        return str(self.data.get("name") or self.package.project_name or self.dir.name)

    @property
    def profile_name(self) -> str | None:
        return self.package.profile_name

    @cached_property
    def target_dir(self) -> Path:
        """Where dbt writes artifacts for this project (``DBT_TARGET_PATH``, ``target-path`` or ``target``)."""
        return _configured_path(self.dir, "DBT_TARGET_PATH", self.data.get("target-path"), "target")

    @cached_property
    def log_dir(self) -> Path:
        """Where dbt writes its log file (``DBT_LOG_PATH``, ``log-path`` or ``logs``)."""
        return _configured_path(self.dir, "DBT_LOG_PATH", self.data.get("log-path"), "logs")

    @property
    def log_file(self) -> Path:
        return self.log_dir / "dbt.log"

    @cached_property
    def packages_dir(self) -> Path:
        """Where ``dbt deps`` installs packages (``packages-install-path``, ``dbt_packages`` by default)."""
        path = Path(str(self.data.get("packages-install-path") or "dbt_packages"))
        return path if path.is_absolute() else self.dir / path

    # -- files ---------------------------------------------------------------------------------------------
    @property
    def fingerprint(self) -> str:
        """The fingerprint of the project's files (:func:`~dbt_kickoff.fingerprint.project_fingerprint`), leaving
        out the target and log folders dbt writes into; taken once, again after :meth:`files_changed`."""
        if self._fingerprint is None:
            written = (self.target_dir, self.log_dir)
            self._fingerprint = project_fingerprint(self.dir, [p.name for p in written if p.parent == self.dir])
        return self._fingerprint

    def files_changed(self) -> None:
        """The call changed the project's files itself (``dbt deps``): the fingerprint is taken again."""
        self._fingerprint = None

    def ensure_output_folders(self, target: Path | None) -> None:
        """Check, before dbt starts, that it can write its log file and (for ``target``) its artifacts."""
        ensure_writable(self.log_dir, "log file", "log-path in dbt_project.yml (or DBT_LOG_PATH)")
        if target is not None:
            ensure_writable(target, "artifacts", "target-path in dbt_project.yml (or DBT_TARGET_PATH)")

    @cached_property
    def has_seeds(self) -> bool:
        """True when any seed-path of the project holds a CSV file (so ``dbt seed`` has work to do)."""
        seed_paths = self.data.get("seed-paths") or self.data.get("data-paths") or ["seeds"]
        if not isinstance(seed_paths, list):
            return True  # an unusual configuration: let dbt decide
        return any(next((self.dir / str(p)).rglob("*.csv"), None) is not None for p in seed_paths)

    # -- installed packages ----------------------------------------------------------------------------------
    @cached_property
    def has_package_dependencies(self) -> bool:
        """True when packages.yml / dependencies.yml lists packages (so ``dbt deps`` has work to do)."""
        for name in ("packages.yml", "dependencies.yml"):
            path = self.dir / name
            if path.is_file():
                try:
                    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
                except yaml.YAMLError as exc:
                    raise PrerequisitesException(f"{path} is not valid YAML: {exc}") from None
                if isinstance(data, dict) and data.get("packages"):
                    return True
        return False

    def dependencies_fingerprint(self) -> str:
        """Changes when the declared or locked packages change, or installed packages are added or removed."""
        digest = hashlib.blake2b(digest_size=16)
        for name in ("packages.yml", "dependencies.yml", "package-lock.yml"):
            path = self.dir / name
            digest.update(name.encode() + (path.read_bytes() if path.is_file() else b"-"))
        installed = self.packages_dir
        names = sorted(p.name for p in installed.iterdir() if p.is_dir()) if installed.is_dir() else ["<missing>"]
        digest.update("\0".join(names).encode())
        return digest.hexdigest()

    def dependencies_installed(self) -> bool:
        """True when the last successful ``dbt deps`` (of any process) installed exactly what is declared now."""
        try:
            stamp = (self.packages_dir / DEPS_STAMP).read_text(encoding="utf-8").strip()
        except OSError:
            return False
        return stamp == self.dependencies_fingerprint()

    def remember_dependencies(self) -> None:
        """Keep the fingerprint beside the installed packages, so a new process can skip ``dbt deps``."""
        if self.packages_dir.is_dir():
            write_atomically(self.packages_dir / DEPS_STAMP, self.dependencies_fingerprint())
