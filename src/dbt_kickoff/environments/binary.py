"""A dbt executable you already have (the dbt v2 / Fusion engine, or a v1 ``dbt`` script), run once per command.

``get_venv(destination, dbt_version="fusion")`` (or ``"2.*"``) installs the dbt v2 engine from the package index
into a cached venv and needs nothing from here; use :func:`dbt_executable_environment` for a ``dbt`` installed
another way (the dbt Labs installer, Homebrew, a container). Either way its commands run through the subprocess
engine with v2 exit codes and log reading (``dbt_kickoff.engines.fusion``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from dbt_kickoff.environments import DbtEnvironment
from dbt_kickoff.environments.drivers import check_drivers_folder
from dbt_kickoff.errors import ConfigurationError, PrerequisitesException
from dbt_kickoff.processes import child_environment

# v2 / Fusion prints its version first, e.g. "dbt-fusion 2.0.0-preview.13" (or "dbt 2.0.0");
# Python dbt v1 prints "Core:\n  - installed: 1.11.2\n ..." (older: "installed version: 1.5.0").
_V2_LINE = re.compile(r"^\s*dbt(?:-fusion)?\s+v?(\d+\.\d+\.\d+\S*)", re.IGNORECASE)
_V1_LINE = re.compile(r"installed(?: version)?:\s*v?(\d+\.\d+\.\d+\S*)", re.IGNORECASE)


@dataclass(frozen=True)
class DbtExecutableVersion:
    version: str
    generation: Literal["v1", "v2"]


def parse_version_output(text: str) -> DbtExecutableVersion | None:
    """Read ``dbt --version`` output: ``None`` when it is not dbt's."""
    for line in text.splitlines():
        match = _V2_LINE.match(line)
        if match:
            version = match.group(1)
            return DbtExecutableVersion(version, "v2" if int(version.split(".")[0]) >= 2 else "v1")
    match = _V1_LINE.search(text)
    if match:
        return DbtExecutableVersion(match.group(1), "v1")
    return None


def _locate(path_or_name: str | os.PathLike[str]) -> Path:
    text = os.fspath(path_or_name)
    if os.sep in text or (os.altsep and os.altsep in text):
        path = Path(text).expanduser()
        if not path.is_file() or not os.access(path, os.X_OK):
            raise ConfigurationError(f"{text} is not an executable file; pass the path of a dbt executable")
        return path.absolute()
    found = shutil.which(text)
    if found is None:
        raise PrerequisitesException(
            f"no {text!r} executable on PATH; install dbt, or pass the full path of the dbt executable"
        )
    return Path(found).absolute()


def dbt_executable_environment(
    path_or_name: str | os.PathLike[str] = "dbt", *, timeout: float = 60,
    drivers: str | os.PathLike[str] | None = None,
) -> DbtEnvironment:
    """A subprocess-engine environment for a dbt executable (a path, or a name looked up on PATH).

    Asks it ``--version``: the dbt v2 engine (dbt Fusion, ``2.x``) gets ``exit_codes="v2"`` (2 means
    "finished with warnings"), a Python dbt v1 executable ``exit_codes="v1"``. Pass the result as
    ``package(..., venv=environment)``. ``drivers``: as for :func:`~dbt_kickoff.get_venv`, a folder of
    database drivers for the v2 engine (passed as ``ADBC_DRIVER_PATH``), checked at once.
    """
    folder = check_drivers_folder(drivers) if drivers is not None else None
    executable = _locate(path_or_name)
    try:
        done = subprocess.run(
            [str(executable), "--version"],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=child_environment({"DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}),
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PrerequisitesException(f"cannot ask {executable} its version: {exc}") from None
    detected = parse_version_output(done.stdout + "\n" + done.stderr)
    if detected is None:
        first = (done.stdout or done.stderr).strip().splitlines()[:1]
        raise PrerequisitesException(
            f"{executable} does not look like dbt: `--version` printed {first[0] if first else 'nothing'!r}"
        )
    engine = "dbt v2 engine" if detected.generation == "v2" else "dbt"
    if folder is not None and detected.generation != "v2":
        raise ConfigurationError(f"drivers= is for the dbt v2 engine; {executable} is dbt {detected.version}")
    return DbtEnvironment(
        python=None,
        dbt_executable=executable,
        engine="subprocess",
        exit_codes=detected.generation,
        description=f"{engine} {detected.version} ({executable})",
        drivers=folder,
    )
