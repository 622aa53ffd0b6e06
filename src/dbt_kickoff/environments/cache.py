"""The venv cache on disk: one folder per key, a completion marker, a lock per key, last-used times.

Layout of a cache root (``venv_dir``, by default ``<user cache dir>/dbt-kickoff/venvs``)::

    <key>/                      a finished venv; finished means <key>/dbt-kickoff-venv.json exists
    <key>/.last-used            touched on every reuse (its mtime is the last-used time)
    <key>.lock                  held while <key> is built or removed
    .tmp-<key>-*/               a build in progress (or left by a crash: garbage, removed on the next build)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dbt_kickoff.errors import ConfigurationError, PrerequisitesException

MARKER = "dbt-kickoff-venv.json"
LAST_USED = ".last-used"
TMP_PREFIX = ".tmp-"
MARKER_FORMAT = 1


def default_root() -> Path:
    """``<platform user cache dir>/dbt-kickoff/venvs`` (e.g. ``~/.cache/dbt-kickoff/venvs`` on Linux)."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("dbt-kickoff", appauthor=False)) / "venvs"


if TYPE_CHECKING:
    from filelock import FileLock


def cache_root(venv_dir: str | os.PathLike[str] | None) -> Path:
    return default_root() if venv_dir is None else Path(venv_dir).expanduser().absolute()


def venv_key(identity: Mapping[str, Any]) -> str:
    """A short stable hash of what makes a venv (python, requirements, index options)."""
    blob = json.dumps(identity, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:20]


def lock_for(root: Path, key: str, timeout: float = -1) -> FileLock:
    """The exclusive lock of one venv, held while it is built or removed (filelock is imported here, when a
    venv is built or removed: it brings asyncio, which a task reusing its venv does not need)."""
    from filelock import FileLock

    return FileLock(str(root / f"{key}.lock"), timeout=timeout)


@contextlib.contextmanager
def held_in_use(root: Path, key: str) -> Iterator[None]:
    """A shared hold on the same lock file: any number of users at once, but no build or removal meanwhile
    (they take the lock exclusively). POSIX only; on Windows the OS already refuses to delete a running
    interpreter, so this is a no-op there."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    fd = os.open(root / f"{key}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)  # waits while a build or removal holds it exclusively
        yield
    finally:
        os.close(fd)  # releases the hold


def ensure_root(root: Path) -> None:
    """Create the cache root, or say clearly that it cannot be used."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / f"{TMP_PREFIX}probe-{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise ConfigurationError(
            f"the venv cache folder {root} cannot be used ({exc.strerror or exc}); "
            "pass venv_dir= a writable folder"
        ) from None


@dataclass(frozen=True)
class Marker:
    """What the completion marker records about a finished venv."""

    key: str
    requirements: tuple[str, ...]
    python: str  # relative to the venv folder
    site_packages: str  # relative to the venv folder
    python_version: str
    installed: tuple[tuple[str, str], ...]  # (distribution, version) of each requirement
    installer: str
    created_at: float
    engine: str = "v1"
    """``"v1"``: Python dbt (dbt-core + adapters); ``"v2"``: the dbt v2 engine's binary (``dbt`` distribution);
    ``"tool"``: a Python tool (``dbt-autofix``)."""
    engine_version: str = ""
    """What the v2 engine's ``dbt --version`` printed (``dbt-fusion 2.0.0-preview.196``); empty for v1."""

    @property
    def dbt_version(self) -> str:
        installed = dict(self.installed)
        return installed.get("dbt-core", "") if self.engine == "v1" else installed.get("dbt", "")

    @property
    def dbt_executable(self) -> Path:
        """The ``dbt`` script (v1) or binary (v2), relative to the venv folder."""
        return Path(self.python).parent / ("dbt.exe" if os.name == "nt" else "dbt")

    def to_json(self) -> str:
        data = {"format": MARKER_FORMAT, **self.__dict__}
        data["installed"] = dict(self.installed)
        return json.dumps(data, indent=2, sort_keys=True)

    @classmethod
    def read(cls, venv_path: Path) -> Marker | None:
        """The marker of ``venv_path``, or ``None`` when it is missing or unreadable (an unfinished venv)."""
        try:
            data = json.loads((venv_path / MARKER).read_text(encoding="utf-8"))
            if data.get("format") != MARKER_FORMAT:
                return None
            return cls(
                key=str(data["key"]),
                requirements=tuple(data["requirements"]),
                python=str(data["python"]),
                site_packages=str(data["site_packages"]),
                python_version=str(data["python_version"]),
                installed=tuple(sorted((str(k), str(v)) for k, v in data["installed"].items())),
                installer=str(data["installer"]),
                created_at=float(data["created_at"]),
                engine=str(data.get("engine", "v1")),  # markers written before v2 support are v1 venvs
                engine_version=str(data.get("engine_version", "")),
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None


def is_usable(venv_path: Path, marker: Marker | None) -> bool:
    """Cheap check (no subprocess): finished, its python exists and dbt is in its site-packages (v1), its
    ``dbt`` binary exists (v2), or the command of each installed tool exists (tool)."""
    if marker is None or not (venv_path / marker.python).exists():
        return False
    if marker.engine == "v2":
        return (venv_path / marker.dbt_executable).is_file()
    if marker.engine == "tool":
        scripts = venv_path / Path(marker.python).parent
        return bool(marker.installed) and all((scripts / name).is_file() for name, _ in marker.installed)
    return (venv_path / marker.site_packages / "dbt" / "__init__.py").is_file()


def touch_last_used(venv_path: Path) -> None:
    with contextlib.suppress(OSError):  # a read-only shared cache works; it just cannot be pruned by age
        (venv_path / LAST_USED).touch()


def last_used(venv_path: Path) -> float:
    for name in (LAST_USED, MARKER):
        try:
            return (venv_path / name).stat().st_mtime
        except OSError:
            continue
    return venv_path.stat().st_mtime


def remove_tree(path: Path) -> None:
    """Delete a folder; first rename it aside so it never looks like a venv while half-deleted."""
    if not path.exists():
        return
    doomed = path.with_name(f"{TMP_PREFIX}removing-{path.name}-{os.getpid()}-{time.monotonic_ns()}")
    path.rename(doomed)
    shutil.rmtree(doomed, ignore_errors=True)


def remove_garbage(root: Path, key: str) -> None:
    """Remove unfinished builds of ``key``; call only while holding ``key``'s lock."""
    for leftover in root.glob(f"{TMP_PREFIX}{key}-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    path = root / key
    if path.exists() and not is_usable(path, Marker.read(path)):
        remove_tree(path)


@dataclass(frozen=True)
class CachedVenv:
    """One entry of :func:`list_venvs`."""

    key: str
    path: Path
    requirements: tuple[str, ...]
    dbt_version: str
    python_version: str
    created_at: float
    last_used: float
    complete: bool
    size_bytes: int
    engine: str = "v1"
    """``"v1"`` (Python dbt, run by the warm worker), ``"v2"`` (the dbt v2 engine, a process per command) or
    ``"tool"`` (a Python tool such as ``dbt-autofix``)."""
    engine_version: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "path": str(self.path)}


def _size(path: Path) -> int:
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                continue
    return total


def _entries(root: Path) -> Iterator[Path]:
    if not root.is_dir():
        return
    for child in sorted(root.iterdir()):
        if child.is_dir() and not child.name.startswith("."):
            yield child


def list_venvs(
    venv_dir: str | os.PathLike[str] | None = None, *, with_size: bool = False
) -> list[CachedVenv]:
    """The venvs in the cache (``venv_dir`` as given to ``get_venv``), finished or not, oldest use first."""
    found = []
    for path in _entries(cache_root(venv_dir)):
        marker = Marker.read(path)
        found.append(
            CachedVenv(
                key=path.name,
                path=path,
                requirements=marker.requirements if marker else (),
                dbt_version=marker.dbt_version if marker else "",
                python_version=marker.python_version if marker else "",
                created_at=marker.created_at if marker else path.stat().st_mtime,
                last_used=last_used(path),
                complete=is_usable(path, marker),
                size_bytes=_size(path) if with_size else 0,
                engine=marker.engine if marker else "v1",
                engine_version=marker.engine_version if marker else "",
            )
        )
    return sorted(found, key=lambda venv: venv.last_used)


def _locate(key_or_path: str | os.PathLike[str], venv_dir: str | os.PathLike[str] | None) -> tuple[Path, str]:
    text = os.fspath(key_or_path)
    candidate = Path(text)
    if os.sep in text or (os.altsep and os.altsep in text) or candidate.is_absolute():
        path = candidate.expanduser().absolute()
    else:
        path = cache_root(venv_dir) / text
    if not path.is_dir() or not ((path / MARKER).exists() or (path / "pyvenv.cfg").exists()):
        raise ConfigurationError(
            f"{text} is not a venv of the dbt-kickoff cache (see `dbt-kickoff venv list`)"
        )
    return path.parent, path.name


def remove_venv(key_or_path: str | os.PathLike[str], venv_dir: str | os.PathLike[str] | None = None) -> Path:
    """Delete one cached venv, given by key (see :func:`list_venvs`) or path. Refuses while another process
    builds, removes or uses it (holds its lock, see ``Venv.in_use``). Returns the removed path."""
    from filelock import Timeout

    root, key = _locate(key_or_path, venv_dir)
    try:
        with lock_for(root, key, timeout=0):
            remove_tree(root / key)
    except Timeout:
        raise PrerequisitesException(
            f"the venv {root / key} is being built, used or removed by another process; try again later"
        ) from None
    return root / key


def prune_venvs(older_than_days: float, venv_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """Delete cached venvs not used for ``older_than_days`` days, unfinished venvs, and leftovers of crashed
    builds; venvs another process builds or uses (holds their lock, see ``Venv.in_use``) are skipped.
    Returns the removed paths."""
    from filelock import Timeout

    if older_than_days < 0:
        raise ConfigurationError(f"older_than_days must be >= 0, not {older_than_days}")
    root = cache_root(venv_dir)
    cutoff = time.time() - older_than_days * 86400
    removed = []
    for entry in list_venvs(root):
        if entry.complete and entry.last_used >= cutoff:
            continue
        try:
            with lock_for(root, entry.key, timeout=0):
                remove_tree(entry.path)
                removed.append(entry.path)
        except Timeout:
            continue
    for leftover in root.glob(f"{TMP_PREFIX}*") if root.is_dir() else ():
        if not leftover.is_dir():
            continue
        key = leftover.name[len(TMP_PREFIX) :].split("-", 1)[0]
        if key == "removing":  # renamed aside by a removal: never a venv anyone uses
            shutil.rmtree(leftover, ignore_errors=True)
            removed.append(leftover)
            continue
        try:
            with lock_for(root, key, timeout=0):  # unlocked: no build of that key is running
                shutil.rmtree(leftover, ignore_errors=True)
                removed.append(leftover)
        except Timeout:
            continue
    return removed
