"""Help for packages dbt v2 does not accept as they are: dbt Labs' ``dbt-autofix``, run offline.

dbt v2 refuses some YAML dbt v1 accepts (``materialized:`` without ``+`` in ``dbt_project.yml``, test arguments
not under ``arguments:``...). ``dbt-autofix deprecations`` rewrites them, but it downloads the JSON schemas of
dbt v2's files from dbt Labs' CDN first. Here it runs from its own cached tool venv
(:func:`~dbt_kickoff.environments.venv.tool_venv`, installed from the package index with uv like the dbt venvs)
with the schemas printed by the user's own v2 engine (``dbt man --pre-schema``), so it needs no network once
installed, and it checks against the release that will run the package.

:func:`check_package` is a dry run on a copy; :func:`fix_package` rewrites a copy (``<package>-v2`` next to the
package, or ``output_dir=``) or, with ``in_place=True``, the package itself. CLI: ``dbt-kickoff v2 check|fix``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from dbt_kickoff.autofix.options import AUTOFIX_OPTIONS
from dbt_kickoff.environments.requirements import is_fusion
from dbt_kickoff.environments.venv import Venv, get_venv, tool_venv
from dbt_kickoff.errors import ConfigurationError, PrerequisitesException
from dbt_kickoff.processes import child_environment
from dbt_kickoff.validation import validated

PathLike = str | os.PathLike[str]

AUTOFIX_REQUIREMENT = "dbt-autofix>=0.22,<1"
"""The dbt-autofix releases whose schema download the offline script replaces (checked when it runs)."""
NOT_COPIED = ("target", "logs", "dbt_packages", ".git")
"""What a copy of the package leaves out: dbt's output and installed packages, and git's objects."""
SCHEMAS = {"schema": "yaml-files.json", "project": "dbt-project.json"}
"""``dbt man --pre-schema <kind>`` -> the file the offline script reads."""
SCRIPT = Path(__file__).with_name("offline_script.py")


@dataclass(frozen=True)
class AutofixChange:
    """One change dbt-autofix makes (or would make) to a file of the package."""

    file: str
    """Relative to the package folder (``dbt_project.yml``, ``models/schema.yml``)."""
    deprecation: str
    """dbt-autofix's name for what it fixes (``MissingPlusPrefixDeprecation``)."""
    description: str


@dataclass(frozen=True)
class AutofixReport:
    """What :func:`check_package` found or :func:`fix_package` changed."""

    package: Path
    """The folder that was checked (the package) or fixed (the copy, or the package with ``in_place``)."""
    changes: tuple[AutofixChange, ...]
    applied: bool

    @property
    def needs_changes(self) -> bool:
        return bool(self.changes)


@validated(AUTOFIX_OPTIONS)
def check_package(
    package_dir: PathLike, *, dbt_version: str = "fusion", venv_dir: PathLike | None = None
) -> AutofixReport:
    """What dbt-autofix would change so that the dbt v2 engine (``dbt_version``, as for
    :func:`~dbt_kickoff.get_venv`) accepts the package: a dry run on a copy; the package is not touched."""
    source = _package_folder(package_dir)
    engine = _v2_engine(dbt_version, venv_dir)
    with tempfile.TemporaryDirectory(prefix="dbt-kickoff-autofix-") as scratch:
        copy = _copy(source, Path(scratch) / source.name)
        changes = _run(engine, venv_dir, copy, dry_run=True)
    return AutofixReport(source, changes, applied=False)


@validated(AUTOFIX_OPTIONS)
def fix_package(
    package_dir: PathLike,
    *,
    output_dir: PathLike | None = None,
    in_place: bool = False,
    dbt_version: str = "fusion",
    venv_dir: PathLike | None = None,
) -> AutofixReport:
    """Rewrite the package with dbt-autofix so that the dbt v2 engine accepts it: into a copy (``output_dir``, by
    default ``<package>-v2`` next to it, which must not exist yet) or, with ``in_place=True``, the package
    itself."""
    source = _package_folder(package_dir)
    if in_place and output_dir is not None:
        raise ConfigurationError("pass output_dir= or in_place=True, not both")
    target = source if in_place else Path(output_dir or source.with_name(f"{source.name}-v2")).expanduser().absolute()
    if not in_place and target.exists():
        raise ConfigurationError(f"{target} already exists; pass output_dir= a new folder, or in_place=True")
    engine = _v2_engine(dbt_version, venv_dir)
    if not in_place:
        _copy(source, target)
    return AutofixReport(target, _run(engine, venv_dir, target, dry_run=False), applied=True)


def _package_folder(package_dir: PathLike) -> Path:
    folder = Path(package_dir).expanduser().absolute()
    if not (folder / "dbt_project.yml").is_file():
        raise ConfigurationError(f"{os.fspath(package_dir)!r} is not a dbt package folder (no dbt_project.yml in it)")
    return folder


def _v2_engine(dbt_version: str, venv_dir: PathLike | None) -> Venv:
    if not is_fusion(dbt_version):
        raise ConfigurationError(
            f"dbt_version={dbt_version!r} is not the dbt v2 engine; dbt-autofix checks against v2 (\"fusion\", \"2.*\")"
        )
    return get_venv(dbt_version=dbt_version, venv_dir=venv_dir)


def _copy(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, symlinks=True, ignore=shutil.ignore_patterns(*NOT_COPIED))
    return target


def _run(engine: Venv, venv_dir: PathLike | None, folder: Path, *, dry_run: bool) -> tuple[AutofixChange, ...]:
    """dbt-autofix ``deprecations`` on ``folder`` with the v2 engine's schemas; the changes it reports."""
    tool = tool_venv(AUTOFIX_REQUIREMENT, venv_dir=venv_dir)
    with tempfile.TemporaryDirectory(prefix="dbt-kickoff-schemas-") as schemas:
        _write_schemas(engine, Path(schemas))
        argv = [str(tool.python), str(SCRIPT), schemas, "deprecations", "--path", str(folder), "--json",
                *(["--dry-run"] if dry_run else [])]
        done = subprocess.run(argv, cwd=folder, env=tool.run_env(), capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-10:])
        raise PrerequisitesException(f"dbt-autofix failed on {folder} (exit {done.returncode}):\n{tail}")
    return tuple(_changes(done.stdout, folder))


def _write_schemas(engine: Venv, folder: Path) -> None:
    """The JSON schemas of dbt v2's project and property files, as ``engine`` prints them, into ``folder``."""
    env = child_environment({"DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}, foreign_python=True)
    for kind, name in SCHEMAS.items():
        done = subprocess.run([str(engine.dbt_executable), "man", "--pre-schema", kind], cwd=folder, env=env,
                              capture_output=True, text=True, timeout=120)
        try:
            schema = json.loads(done.stdout) if done.returncode == 0 else None
        except json.JSONDecodeError:
            schema = None
        if not isinstance(schema, dict):
            tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
            raise PrerequisitesException(
                f"the dbt v2 engine in {engine.path} did not print its {kind} schema "
                f"(`dbt man --pre-schema {kind}`, exit {done.returncode}):\n{tail}"
            )
        (folder / name).write_text(json.dumps(schema), encoding="utf-8")


def _changes(output: str, folder: Path) -> list[AutofixChange]:
    """dbt-autofix's ``--json`` lines (one per file it changes) as changes, files relative to ``folder``."""
    changes = []
    for line in output.splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(entry, dict) or "file_path" not in entry:
            continue
        path = Path(entry["file_path"])
        path = (path if path.is_absolute() else folder / path).resolve()
        file = path.relative_to(folder.resolve()).as_posix() if path.is_relative_to(folder.resolve()) else str(path)
        changes += [AutofixChange(file, str(refactor.get("deprecation", "")), str(refactor.get("log", "")))
                    for refactor in entry.get("refactors") or ()]
    return changes
