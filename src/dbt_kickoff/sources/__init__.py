"""Where the dbt package comes from: a local folder (here) or a git repository (``sources.git``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

from dbt_kickoff.errors import ConfigurationError, PrerequisitesException
from dbt_kickoff.sources.git_urls import looks_like_git_url


@dataclass(frozen=True)
class ResolvedPackage:
    """A folder that holds ``dbt_project.yml``, ready for dbt."""

    project_dir: Path
    location: str
    """Where it came from, safe to log (credentials redacted)."""
    commit_sha: str | None = None
    project_name: str | None = None
    profile_name: str | None = None
    project: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """``dbt_project.yml`` as read when the package was resolved."""


def read_project_file(project_dir: Path, location: str) -> dict[str, object]:
    """Load and sanity-check ``dbt_project.yml``; raise a clear error when it is absent or broken."""
    project_file = project_dir / "dbt_project.yml"
    if not project_file.is_file():
        raise PrerequisitesException(
            f"{location} is not a dbt package: no dbt_project.yml in {project_dir}. "
            "Point package_location at the folder that holds dbt_project.yml (or pass a subdirectory)."
        )
    try:
        data = yaml.safe_load(project_file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PrerequisitesException(f"{project_file} is not valid YAML: {exc}") from None
    if not isinstance(data, dict) or not data.get("name"):
        raise PrerequisitesException(f"{project_file} must be a mapping with at least a 'name' key")
    return data


def resolve_local(location: str | Path) -> ResolvedPackage:
    """Check a local folder and describe the dbt package in it."""
    project_dir = Path(location).expanduser()
    if not project_dir.exists():
        raise PrerequisitesException(f"package location {location!s} does not exist")
    if not project_dir.is_dir():
        raise PrerequisitesException(f"package location {location!s} is not a folder")
    project_dir = project_dir.resolve()
    data = read_project_file(project_dir, str(location))
    profile = data.get("profile")
    return ResolvedPackage(
        project_dir=project_dir,
        location=str(project_dir),
        project_name=str(data["name"]),
        profile_name=str(profile) if profile else None,
        project=data,
    )


class PackageSource(Protocol):
    """Where a package comes from; gives a folder ready for dbt."""

    def resolve(self) -> ResolvedPackage:
        """First use: fetch or check the package (no network when it is already in place)."""
        ...

    def ensure_newest(self) -> ResolvedPackage:
        """Move to the newest version of the requested ref (a local folder: check it again)."""
        ...


@dataclass(frozen=True)
class LocalSource:
    """A dbt package in a local folder."""

    path: Path

    def resolve(self) -> ResolvedPackage:
        return resolve_local(self.path)

    def ensure_newest(self) -> ResolvedPackage:
        return resolve_local(self.path)


def _check_git_options(options: dict[str, Any]) -> None:
    """Unknown names suggest the close match; known ones are checked by their specs."""
    from dbt_kickoff.sources.options import GIT_OPTIONS
    from dbt_kickoff.validation import check, unknown_option

    for name, value in options.items():
        if name not in GIT_OPTIONS:
            raise unknown_option("package(): git_options", name, GIT_OPTIONS, kind="git option")
        check(GIT_OPTIONS, name, value, where="package(): git_options")


def open_source(
    location: str | Path,
    *,
    ref: str | None = None,
    subdirectory: str | None = None,
    ssh_key: str | None = None,
    token: str | None = None,
    cache_dir: str | Path | None = None,
    allow_stale: bool = False,
    **git_options: Any,
) -> PackageSource:
    """A git URL -> :class:`~dbt_kickoff.sources.git.GitSource`; a local folder -> :class:`LocalSource`.

    ``ref`` (branch, tag or commit sha), ``ssh_key``, ``token``, ``cache_dir``, ``allow_stale`` and
    ``git_options`` (``username``, ``known_hosts``, ``host_key_policy``, ``timeout``, ``lock_timeout``) apply
    to git URLs; ``subdirectory`` selects a folder inside either.
    """
    _check_git_options(git_options)
    text = str(location)
    if not isinstance(location, Path) and looks_like_git_url(text) and not Path(text).expanduser().exists():
        from dbt_kickoff.sources.git import GitSource

        return GitSource(
            text,
            ref=ref,
            subdirectory=subdirectory,
            ssh_key=ssh_key,
            token=token,
            cache_dir=cache_dir,
            allow_stale=allow_stale,
            **git_options,
        )
    given = [name for name, value in (("ref", ref), ("ssh_key", ssh_key), ("token", token)) if value]
    if given:
        raise ConfigurationError(
            f"{', '.join(given)} only apply to git URLs, but {text} is a local folder; "
            "to check out a local repository use a file:///path/to/repo URL"
        )
    return LocalSource(Path(location) / subdirectory if subdirectory else Path(location))
