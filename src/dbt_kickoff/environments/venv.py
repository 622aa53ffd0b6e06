"""``get_venv``: a cached virtual environment with dbt and the adapter(s) a destination needs, or with the dbt v2
engine (dbt Fusion)."""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from dbt_kickoff.atomic import write_atomically
from dbt_kickoff.environments import DbtEnvironment
from dbt_kickoff.environments.cache import (
    MARKER,
    TMP_PREFIX,
    Marker,
    cache_root,
    ensure_root,
    held_in_use,
    is_usable,
    lock_for,
    remove_garbage,
    touch_last_used,
    venv_key,
)
from dbt_kickoff.environments.drivers import check_drivers_folder
from dbt_kickoff.environments.installer import (
    IndexOptions,
    InstallerName,
    VenvKind,
    build,
    choose_installer,
    interpreter_identity,
)
from dbt_kickoff.environments.options import VENV_OPTIONS
from dbt_kickoff.environments.requirements import is_fusion, normalize, resolve_requirements
from dbt_kickoff.errors import ConfigurationError, PrerequisitesException
from dbt_kickoff.processes import child_environment
from dbt_kickoff.validation import validated

PathLike = str | os.PathLike[str]
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Venv:
    """A finished virtual environment with dbt, made by :func:`get_venv`.

    Pass it to ``dbt_kickoff.package(..., venv=venv)``. Python dbt (``engine="v1"``) then runs with ``python``
    (this venv's interpreter) in a warm worker process; the dbt v2 engine (``engine="v2"``) runs as its ``dbt``
    binary, one process per command. dbt-kickoff itself does not need to be installed in the venv.
    """

    path: Path
    python: Path
    requirements: tuple[str, ...]
    dbt_version: str
    """The installed dbt-core version (v1), or the ``dbt`` distribution's version (v2: ``2.0.0rc196``)."""
    key: str
    installed: tuple[tuple[str, str], ...] = ()
    """``(distribution, version)`` of each requirement as installed."""
    engine: str = "v1"
    """``"v1"`` (Python dbt), ``"v2"`` (the dbt v2 engine) or ``"tool"`` (a Python tool, :func:`tool_venv`)."""
    engine_version: str = ""
    """What the v2 engine's ``dbt --version`` printed (``dbt-fusion 2.0.0-preview.196``); empty for v1."""
    drivers: Path | None = None
    """v2: the folder of database drivers given to :func:`get_venv` (passed to dbt as ``ADBC_DRIVER_PATH``)."""

    @classmethod
    def restore(cls, path: PathLike) -> Venv:
        """The venv at ``path`` (a folder made by :func:`get_venv`); raises when missing or unfinished."""
        folder = Path(path).absolute()
        venv = _reuse(folder)
        if venv is None:
            raise PrerequisitesException(
                f"{folder} is not a finished dbt venv (missing, removed or broken); "
                "call get_venv() to (re)build it"
            )
        return venv

    @contextmanager
    def in_use(self) -> Iterator[Venv]:
        """Hold this venv while dbt runs from it: until the block ends, ``remove_venv``/``prune_venvs`` (in any
        process) refuse or skip it. Any number of holders at once; reuse by ``get_venv`` is not slowed."""
        if not self.exists():
            raise PrerequisitesException(f"the venv {self.path} was removed or broken; call get_venv() again")
        with held_in_use(self.path.parent, self.path.name):
            yield self

    @property
    def bin_dir(self) -> Path:
        return self.python.parent

    @property
    def dbt_executable(self) -> Path:
        return self.bin_dir / ("dbt.exe" if os.name == "nt" else "dbt")

    @property
    def environment(self) -> DbtEnvironment:
        """How the engines run dbt from this venv: the warm worker with this venv's python (v1), or the
        subprocess engine with its ``dbt`` binary and v2 exit codes (v2). A tool venv runs no dbt."""
        if self.engine == "tool":
            raise ConfigurationError(
                f"the venv {self.path} holds a tool ({', '.join(self.requirements)}), not dbt; pass a venv made by "
                "get_venv()"
            )
        if self.engine == "v2":
            return DbtEnvironment(
                python=None,
                dbt_executable=self.dbt_executable,
                engine="subprocess",
                exit_codes="v2",
                description=f"venv {self.path} ({self.engine_version or 'dbt ' + self.dbt_version})",
                drivers=self.drivers,
                dbt_version=self.engine_version.split()[-1] if self.engine_version else None,
            )
        adapters = ", ".join(f"{name} {version}" for name, version in self.installed if name != "dbt-core")
        return DbtEnvironment(
            python=self.python,
            dbt_executable=self.dbt_executable,
            engine="worker",
            exit_codes="v1",
            description=f"venv {self.path} (dbt-core {self.dbt_version}; {adapters})",
            dbt_version=self.dbt_version,
        )

    def exists(self) -> bool:
        """Still on disk and usable (cheap, no subprocess)."""
        return is_usable(self.path, Marker.read(self.path))

    def run_env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment of a child process using this venv (the host's ``os.environ`` is not changed)."""
        env = child_environment(foreign_python=True)  # without the host's Python path
        env["VIRTUAL_ENV"] = str(self.path)
        env["PATH"] = os.pathsep.join([str(self.bin_dir), env.get("PATH", "")])
        env.update(extra or {})
        return env

    def run_command(self, entry_point: str, *args: str) -> str:
        """Run a script of this venv's bin folder (``dbt``, ``pip``...) and return its output (stdout and
        stderr); raises ``subprocess.CalledProcessError`` when it fails, like dlt's ``Venv.run_command``."""
        script = shutil.which(entry_point, path=str(self.bin_dir))
        if script is None:
            raise PrerequisitesException(f"{entry_point!r} is not installed in the venv {self.path}")
        return self._output([script, *args])

    def run_module(self, module: str, *args: str) -> str:
        """``python -m module args...`` in this venv; returns its output like :meth:`run_command`."""
        return self._output([str(self.python), "-m", module, *args])

    def run_script(self, script: PathLike, *args: str) -> str:
        """``python script args...`` in this venv; returns its output like :meth:`run_command`."""
        return self._output([str(self.python), os.fspath(script), *args])

    def _output(self, argv: list[str]) -> str:
        done = subprocess.run(
            argv, env=self.run_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=True
        )
        return done.stdout


@validated(VENV_OPTIONS)
def get_venv(
    destination: Any = None,
    dbt_version: str | None = None,
    *,
    adapters: Iterable[str] | str | None = None,
    venv_dir: PathLike | None = None,
    index_url: str | None = None,
    find_links: PathLike | Sequence[PathLike] | None = None,
    no_index: bool = False,
    python: PathLike | None = None,
    installer: InstallerName = "auto",
    lock_timeout: float = 900,
    venv_path: PathLike | None = None,
    drivers: PathLike | None = None,
) -> Venv:
    """Make, or reuse when it already exists, a venv with dbt-core and the adapter(s) ``destination`` needs.

    ``destination``: a connection URL, a profile-like mapping, a dlt pipeline or a destination type name
    (``"duckdb"``, ``"motherduck"``, ``"mssql"``...); ``adapters`` overrides it with adapter types
    (``"postgres"``) or distribution requirements (``"dbt-duckdb>=1.9"``).
    ``dbt_version``: ``"1.11.2"`` (exact), ``"1.11"``/``"1.11.*"`` (any 1.11.x) or a specifier
    (``">=1.10,<1.12"``). The default is ``">=1.10,<1.12"``: dbt-core 1.12 needs a binary downloaded from
    GitHub while it is built, which fails offline; ask for it explicitly if your network allows that.
    ``"fusion"`` or ``"2.*"`` (or ``"2.0.0rc196"``, ``"2.0.0-preview.196"``) installs the dbt v2 engine instead:
    the ``dbt`` distribution alone (its adapters are built in; pre-releases are allowed for it only), run by
    the subprocess engine. It talks to the database through an ADBC driver, which it downloads on first use;
    offline, stage it beforehand: ``drivers`` is a folder holding drivers (for DuckDB ``libduckdb.so``, from the
    npm package ``@duckdb/node-bindings-linux-x64``), given to v2 as ``ADBC_DRIVER_PATH`` (an
    ``ADBC_DRIVER_PATH`` of the environment passes through too); PostgreSQL's driver is read from v2's cache,
    ``~/.cache/com.getdbt/adbc/<platform>/``, only, and PostgreSQL also needs
    ``DBT_ALLOW_EXPERIMENTAL_ADAPTERS=true`` (see the README's engine table and
    :mod:`dbt_kickoff.environments.drivers`). ``drivers`` is checked at once (it must exist and hold a driver)
    and is not part of the venv's cache key.

    The venv lives in ``<venv_dir>/<key>``, where ``key`` hashes the Python version, the requirement set and
    the index options; ``venv_dir`` defaults to ``<platform user cache dir>/dbt-kickoff/venvs``
    (``~/.cache/dbt-kickoff/venvs`` on Linux). Reuse checks a few files only (no process is started unless
    ``python`` is given). A missing, unfinished or broken venv is (re)built: with ``uv`` (``installer="uv"``;
    the ``uv`` package ships it) or the stdlib ``venv`` + pip (``installer="pip"``; ``"auto"`` prefers uv),
    under a per-key file lock, so concurrent callers share one build and a crash never leaves a folder that
    looks finished. Firewalled: ``index_url`` (a PyPI mirror; may hold credentials, never shown),
    ``find_links`` (folders or URLs of wheels), ``no_index=True``. ``python``: the interpreter to base the
    venv on (default: this one). ``lock_timeout``: seconds to wait for another process building the same venv.
    ``venv_path`` (the name dlt uses) is ``venv_dir``, but a relative path is taken inside the dlt pipeline's
    working dir when ``destination`` is a pipeline.

    Raises :class:`~dbt_kickoff.errors.ConfigurationError` for bad arguments and
    :class:`~dbt_kickoff.PrerequisitesException` naming the requirement when the install fails.
    """
    if venv_path is not None:
        venv_dir = _dlt_venv_path(destination, venv_path, venv_dir)
    requirements = resolve_requirements(destination, dbt_version, adapters)
    engine: Literal["v1", "v2"] = "v2" if is_fusion(dbt_version) else "v1"
    if drivers is not None and engine != "v2":
        raise ConfigurationError(
            "drivers= is for the dbt v2 engine (dbt_version=\"fusion\" or \"2.*\"); dbt v1's adapters bring "
            "their own database drivers"
        )
    drivers_folder = check_drivers_folder(drivers) if drivers is not None else None
    venv = _get_or_build(venv_dir, requirements, engine, index_url, find_links, no_index, python, installer,
                         lock_timeout)
    return replace(venv, drivers=drivers_folder) if drivers_folder is not None else venv


def _get_or_build(
    venv_dir: PathLike | None,
    requirements: tuple[str, ...],
    engine: VenvKind,
    index_url: str | None,
    find_links: PathLike | Sequence[PathLike] | None,
    no_index: bool,
    python: PathLike | None,
    installer: InstallerName,
    lock_timeout: float,
) -> Venv:
    """The finished venv for ``requirements``: reused when it exists, else built under its lock."""
    index = IndexOptions(index_url=index_url or None, find_links=_links(find_links), no_index=bool(no_index))
    base_python, identity = interpreter_identity(python)
    key = venv_key({"python": identity, "requirements": list(requirements), "index": index.identity()})
    root = cache_root(venv_dir)
    reused = _reuse(root / key)
    if reused is not None:
        return reused
    from filelock import Timeout  # only when a venv is built: it brings asyncio

    kind, uv = choose_installer(installer)
    ensure_root(root)
    try:
        with lock_for(root, key, timeout=lock_timeout):
            reused = _reuse(root / key)  # another process may have built it while we waited
            if reused is not None:
                return reused
            remove_garbage(root, key)
            _create(root, key, requirements, base_python, index, kind, uv, engine)
    except Timeout:
        raise PrerequisitesException(
            f"waited {lock_timeout}s for another process building the venv {root / key}; try again, or "
            f"remove it with `dbt-kickoff venv remove {key}` if that process is gone"
        ) from None
    return Venv.restore(root / key)


@validated(VENV_OPTIONS)
def tool_venv(
    requirement: str,
    *,
    venv_dir: PathLike | None = None,
    index_url: str | None = None,
    find_links: PathLike | Sequence[PathLike] | None = None,
    no_index: bool = False,
    installer: InstallerName = "auto",
    lock_timeout: float = 900,
) -> Venv:
    """Make, or reuse, a cached venv with a Python tool (``"dbt-autofix>=0.22,<1"``: a distribution with a
    command of its own name) in the same cache as :func:`get_venv`, built the same way (uv, atomically, under
    a lock); ``dbt-kickoff venv list`` shows it as ``tool``. Raises
    :class:`~dbt_kickoff.PrerequisitesException` naming the requirement and what to do behind a firewall when it
    cannot be installed."""
    return _get_or_build(venv_dir, normalize([requirement]), "tool", index_url, find_links, no_index, None,
                         installer, lock_timeout)


def _dlt_venv_path(destination: Any, venv_path: PathLike, venv_dir: PathLike | None) -> Path:
    if venv_dir is not None:
        raise ConfigurationError("pass venv_dir or venv_path (its dlt name), not both")
    if not os.fspath(venv_path):
        raise ConfigurationError("venv_path is empty; to run the dbt of this interpreter pass venv=None to package()")
    path = Path(venv_path).expanduser()
    working_dir = getattr(destination, "working_dir", None)  # a dlt pipeline keeps its venvs in its working dir
    if not path.is_absolute() and isinstance(working_dir, (str, os.PathLike)):
        path = Path(working_dir) / path
    return path


def _links(find_links: PathLike | Sequence[PathLike] | None) -> tuple[str, ...]:
    if find_links is None:
        return ()
    if isinstance(find_links, (str, os.PathLike)):
        find_links = [find_links]
    links = []
    for link in find_links:
        text = os.fspath(link)
        if "://" not in text:
            folder = Path(text).expanduser()
            if not folder.is_dir():
                raise ConfigurationError(f"find_links folder {text!r} does not exist")
            text = str(folder.absolute())
        links.append(text)
    return tuple(links)


def _reuse(folder: Path) -> Venv | None:
    """The finished venv at ``folder`` (its last-used time refreshed), or ``None``; no process is started."""
    marker = Marker.read(folder)
    if marker is None or not is_usable(folder, marker):
        return None
    touch_last_used(folder)
    return Venv(
        path=folder,
        python=folder / marker.python,
        requirements=marker.requirements,
        dbt_version=marker.dbt_version,
        key=marker.key,
        installed=marker.installed,
        engine=marker.engine,
        engine_version=marker.engine_version,
    )


def _create(
    root: Path,
    key: str,
    requirements: tuple[str, ...],
    python: Path,
    index: IndexOptions,
    kind: str,
    uv: Path | None,
    engine: VenvKind,
) -> None:
    """Build under the lock: uv builds a relocatable venv in a temp sibling and renames it into place;
    stdlib venvs are not relocatable, so pip builds at the final path. Either way the marker comes last."""
    final = root / key
    logger.info("building the dbt venv %s with %s: %s", final, kind, " ".join(requirements))
    staging = root / f"{TMP_PREFIX}{key}-{secrets.token_hex(4)}" if kind == "uv" else final
    try:
        built = build(staging, requirements, python=python, index=index, installer=kind, uv=uv, engine=engine)
        marker = Marker(
            key=key,
            requirements=requirements,
            python=built.python.as_posix(),
            site_packages=built.site_packages.as_posix(),
            python_version=built.python_version,
            installed=tuple(sorted(built.installed.items())),
            installer=kind,
            created_at=time.time(),
            engine=built.engine,
            engine_version=built.engine_version,
        )
        write_atomically(staging / MARKER, marker.to_json(), private=False)  # the marker says "finished": last
        if staging != final:
            staging.rename(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
