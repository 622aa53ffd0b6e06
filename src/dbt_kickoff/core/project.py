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
from dbt_kickoff.fingerprint import ProjectFiles, scan_project
from dbt_kickoff.sources import ResolvedPackage, read_project_file

PATH_SETTINGS = ("model-paths", "macro-paths", "seed-paths", "snapshot-paths", "test-paths", "analysis-paths",
                 "docs-paths", "asset-paths", "source-paths", "data-paths")
"""Settings of dbt_project.yml naming folders dbt reads (the last two: their names before dbt 1.0)."""
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
        self._files: ProjectFiles | None = None

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
    def files(self) -> ProjectFiles:
        """What the files dbt reads hold (:func:`~dbt_kickoff.fingerprint.scan_project`): the project folder
        without the target and log folders dbt writes into, installed packages, and every configured folder
        outside the project (a shared ``macro-paths`` entry...); read once, again after :meth:`files_changed`."""
        if self._files is None:
            written = (self.target_dir, self.log_dir)
            self._files = scan_project(self.dir, [p.name for p in written if p.parent == self.dir],
                                       self.outside_folders())
        return self._files

    @property
    def fingerprint(self) -> str:
        """Changes with any file dbt reads, by path and content (see :attr:`files`)."""
        return self.files.digest

    def files_changed(self) -> None:
        """The call changed the project's files itself (``dbt deps``): they are read again."""
        self._files = None

    def outside_folders(self) -> dict[str, Path]:
        """Configured folders dbt reads that lie outside the project folder, by their configured text."""
        configured: list[str] = []
        for setting in PATH_SETTINGS:
            value = self.data.get(setting)
            configured += [str(v) for v in value] if isinstance(value, list) else [str(value)] if value else []
        configured.append(str(self.data.get("packages-install-path") or "dbt_packages"))
        root = self.dir.resolve()
        found: dict[str, Path] = {}
        for text in configured:
            path = (self.dir / text).resolve()
            if path != root and root not in path.parents and path.is_dir():
                found[text] = path
        return found

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
