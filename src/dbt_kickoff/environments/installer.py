"""Create a venv and install requirements into it, with ``uv`` (fast) or the stdlib ``venv`` + pip."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from dbt_kickoff.environments.requirements import FUSION_PIN_HINT, PIN_HINT
from dbt_kickoff.errors import ConfigurationError, PrerequisitesException
from dbt_kickoff.processes import child_environment
from dbt_kickoff.redaction import Redactor

InstallerName = Literal["auto", "uv", "pip"]
VenvKind = Literal["v1", "v2", "tool"]
"""What a cached venv holds: Python dbt (``v1``), the dbt v2 engine's binary (``v2``), or a Python tool
(``tool``: a distribution with a command of its own name, such as ``dbt-autofix``)."""
TOOL_HINT = (
    "behind a firewall pass index_url= (a PyPI mirror; on the command line set UV_INDEX_URL), find_links= (a "
    "folder of wheels; UV_FIND_LINKS) and/or no_index=True, or install it where the package index is reachable"
)
logger = logging.getLogger(__name__)

# Run in the new venv after installing: proves dbt and the adapters import (which also compiles their
# bytecode, so the first dbt run is not slower than in an older environment) and reports where things are.
_PROBE = """
import importlib, json, sys, sysconfig, importlib.metadata as md
from dbt.cli.main import dbtRunner
names = json.loads(sys.argv[1])
for name in names:
    for file in md.distribution(name).files or ():
        parts = file.parts
        if len(parts) == 4 and parts[:2] == ("dbt", "adapters") and parts[3] == "__init__.py":
            importlib.import_module("dbt.adapters." + parts[2])
print(json.dumps({
    "purelib": sysconfig.get_paths()["purelib"],
    "version": ".".join(map(str, sys.version_info[:3])),
    "installed": {n: md.version(n) for n in names},
}))
"""


# The dbt v2 engine (a binary) and tools: report where things are, without importing anything.
_PROBE_METADATA = """
import json, sys, sysconfig, importlib.metadata as md
names = json.loads(sys.argv[1])
print(json.dumps({
    "purelib": sysconfig.get_paths()["purelib"],
    "version": ".".join(map(str, sys.version_info[:3])),
    "installed": {n: md.version(n) for n in names},
}))
"""


@dataclass(frozen=True)
class IndexOptions:
    """Where packages come from. ``index_url`` may hold credentials: it reaches the installer through its
    environment (never argv) and is redacted from every message."""

    index_url: str | None = None
    find_links: tuple[str, ...] = ()
    no_index: bool = False

    def identity(self) -> dict[str, object]:
        return {"index_url": self.index_url, "find_links": list(self.find_links), "no_index": self.no_index}

    def secrets(self) -> list[str]:
        found = []
        for url in (self.index_url, *self.find_links):
            if url:
                parts = urlsplit(url)
                # a token alone sits where the user name goes (https://TOKEN@host/simple)
                found += [parts.password] if parts.password else [parts.username] if parts.username else []
        return found


def find_uv() -> Path | None:
    try:
        from uv import find_uv_bin
    except ImportError:
        return None
    try:
        return Path(find_uv_bin())
    except FileNotFoundError:
        return None


def choose_installer(installer: InstallerName) -> tuple[str, Path | None]:
    if installer not in ("auto", "uv", "pip"):
        raise ConfigurationError(f'installer must be "auto", "uv" or "pip", not {installer!r}')
    uv = find_uv() if installer in ("auto", "uv") else None
    if installer == "uv" and uv is None:
        raise PrerequisitesException(
            'installer="uv" but the uv binary was not found: `pip install uv`, or pass installer="pip"'
        )
    return ("uv", uv) if uv is not None else ("pip", None)


@dataclass(frozen=True)
class BuiltVenv:
    python: Path  # relative to the venv folder
    site_packages: Path  # relative to the venv folder
    python_version: str
    installed: dict[str, str]
    engine: VenvKind = "v1"
    engine_version: str = ""
    """What the dbt executable says it is (``dbt-fusion 2.0.0-preview.196``); empty for v1."""


def _python_in(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _child_env(index: IndexOptions) -> dict[str, str]:
    """The installer's environment (without the host's Python path: it installs for another interpreter); index
    options travel here, not in argv, since URLs may hold credentials."""
    extra = {"UV_PYTHON_DOWNLOADS": "never", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    if index.index_url:
        extra["UV_INDEX_URL"] = extra["PIP_INDEX_URL"] = index.index_url
    if index.find_links:
        extra["UV_FIND_LINKS"] = ",".join(index.find_links)
        extra["PIP_FIND_LINKS"] = " ".join(index.find_links)
    return child_environment(extra, foreign_python=True)


def _index_args(index: IndexOptions) -> list[str]:
    return ["--no-index"] if index.no_index else []


class _Runner:
    def __init__(self, index: IndexOptions, cwd: Path, hint: str = PIN_HINT) -> None:
        self.env = _child_env(index)
        self.cwd = cwd
        self.secrets = index.secrets()
        self.hint = hint

    def __call__(self, argv: Sequence[str | os.PathLike[str]], what: str, requirements: Sequence[str]) -> str:
        started = time.perf_counter()
        try:
            done = subprocess.run(
                [os.fspath(a) for a in argv], cwd=self.cwd, env=self.env, capture_output=True, text=True
            )
        except OSError as exc:
            raise PrerequisitesException(f"{what} failed: cannot run {argv[0]}: {exc.strerror}") from None
        if done.returncode != 0:
            raise install_error(what, requirements, done.stdout + "\n" + done.stderr, self.secrets, self.hint)
        logger.info("%s: %.2f s", what, time.perf_counter() - started)
        return done.stdout


def build(
    target: Path,
    requirements: Sequence[str],
    *,
    python: Path,
    index: IndexOptions,
    installer: str,
    uv: Path | None,
    engine: VenvKind = "v1",
) -> BuiltVenv:
    """Create a venv at ``target`` (which must not exist or be empty) and install ``requirements``.

    ``engine="v1"`` proves dbt and its adapters import; ``engine="v2"`` proves the ``dbt`` binary of the v2
    engine starts (``dbt --version``); ``engine="tool"`` only reads what was installed. uv venvs are made
    ``--relocatable`` so the finished folder can be renamed into place; stdlib venvs are not relocatable, so
    callers build those directly at their final path.
    The v2 engine's ``dbt`` is installed from wheels only: its source distributions download the binary from
    dbt Labs' CDN while they build, which fails offline.
    """
    run = _Runner(index, target.parent, {"v1": PIN_HINT, "v2": FUSION_PIN_HINT, "tool": TOOL_HINT}[engine])
    binary_only = ["--only-binary", "dbt"] if engine == "v2" else []
    if installer == "uv":
        assert uv is not None
        run(
            [uv, "venv", "--quiet", "--relocatable", "--no-project", "--python", python, target],
            "creating the venv",
            [],
        )
        venv_python = _python_in(target)
        run(
            [uv, "pip", "install", "--python", venv_python, *_index_args(index), *binary_only, *requirements],
            "installing " + " ".join(requirements),
            requirements,
        )
    else:
        run([python, "-m", "venv", target], "creating the venv (python -m venv)", [])
        venv_python = _python_in(target)
        run(
            [venv_python, "-m", "pip", "install", "--quiet", *_index_args(index), *binary_only, *requirements],
            "installing " + " ".join(requirements),
            requirements,
        )
    names = [re.split(r"[\[<>=!~; ]", r, maxsplit=1)[0] for r in requirements]
    engine_version = ""
    if engine in ("v2", "tool"):
        out = run([venv_python, "-I", "-c", _PROBE_METADATA, json.dumps(names)], "reading the new venv",
                  requirements)
    if engine == "v2":
        executable = venv_python.parent / ("dbt.exe" if os.name == "nt" else "dbt")
        engine_version = run([executable, "--version"], "starting the dbt v2 engine", requirements)
        engine_version = (engine_version.strip().splitlines() or [""])[0].strip()
    if engine == "v1":
        out = run(
            [venv_python, "-I", "-c", _PROBE, json.dumps(names)], "importing dbt in the new venv", requirements
        )
    probe = json.loads(out.strip().splitlines()[-1])
    return BuiltVenv(
        python=venv_python.relative_to(target),
        site_packages=Path(os.path.relpath(os.path.realpath(probe["purelib"]), os.path.realpath(target))),
        python_version=probe["version"],
        installed=probe["installed"],
        engine=engine,
        engine_version=engine_version,
    )


_REQUIRED = re.compile(r"you\s+require\s+([A-Za-z0-9][A-Za-z0-9._-]*)")  # uv wraps long lines
_NOT_FOUND = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s+was\s+not\s+found\s+in\s+the")
_BUILD_FAILED = re.compile(r"Failed\s+to\s+build\s+`([^`=<>\s]+)")
_INCLUDED_BY = re.compile(r"was\s+included\s+because\s+`([^`]+)`")
_FETCH = re.compile(r"/simple/([A-Za-z0-9][A-Za-z0-9._-]*)/")
_PIP_NO_MATCH = re.compile(r"No\s+matching\s+distribution\s+found\s+for\s+([A-Za-z0-9][A-Za-z0-9._-]*)")


def failed_requirement(output: str, requirements: Sequence[str]) -> str | None:
    """The requirement the installer output blames, as the user asked for it (``dbt-core<1.12,>=1.10``)."""
    blamed = (
        _NOT_FOUND.findall(output)
        + _INCLUDED_BY.findall(output)
        + _BUILD_FAILED.findall(output)
        + _REQUIRED.findall(output)
        + _PIP_NO_MATCH.findall(output)
        + _FETCH.findall(output)
    )
    by_name = {re.split(r"[\[<>=!~; ]", r, maxsplit=1)[0].lower(): r for r in requirements}
    for name in blamed:
        if name.lower() in by_name:
            return by_name[name.lower()]
    return blamed[0] if blamed else None


_UNREACHABLE = re.compile(
    r"Failed to fetch|Request failed|Could not fetch URL|Connection refused|NewConnectionError"
)


def install_error(
    what: str, requirements: Sequence[str], output: str, secrets: Sequence[str], pin_hint: str = PIN_HINT
) -> PrerequisitesException:
    """The installer failed: name the requirement it blames and say how to pin or point at another index."""
    output = Redactor(secrets)(output)
    lines = [
        line.rstrip()
        for line in output.splitlines()
        if line.strip() and not line.lstrip().startswith(("+ ", "Using Python "))
    ]
    culprit = failed_requirement(output, requirements) if requirements else None
    blame = f" (failed requirement: {culprit})" if culprit else ""
    built = _BUILD_FAILED.search(output)
    if built and culprit and not culprit.lower().startswith(built.group(1).lower()):
        blame += f"; its dependency {built.group(1)} failed to build"
    hint = "the package index cannot be reached; " if _UNREACHABLE.search(output) else ""
    tail = "\n".join(lines[-15:])
    return PrerequisitesException(f"{what} failed{blame}. To fix: {hint}{pin_hint}.\n{tail}")


def interpreter_identity(python: str | os.PathLike[str] | None) -> tuple[Path, dict[str, str]]:
    """The interpreter a venv is built from and what identifies it in the cache key. For ``None`` (this
    interpreter) no process is started."""
    import platform

    if python is None:
        return Path(sys.executable), {
            "implementation": sys.implementation.name,
            "version": platform.python_version(),
            "machine": platform.machine(),
            "base": os.path.realpath(sys.base_prefix),
        }
    path = Path(python).expanduser()
    if not path.is_file():
        raise ConfigurationError(
            f"python={os.fspath(python)!r} is not an interpreter file; pass a path or None"
        )
    code = (
        "import sys, os, platform, json; print(json.dumps({'implementation': sys.implementation.name, "
        "'version': platform.python_version(), 'machine': platform.machine(), "
        "'base': os.path.realpath(sys.base_prefix)}))"
    )
    try:
        out = subprocess.run([path, "-I", "-c", code], capture_output=True, text=True, check=True, timeout=60)
        return path.absolute(), json.loads(out.stdout)
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        raise ConfigurationError(
            f"python={os.fspath(python)!r} cannot be run as a Python interpreter: {exc}"
        ) from None
