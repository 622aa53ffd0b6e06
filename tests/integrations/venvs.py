"""A virtual environment per orchestrator for its integration tests, built once with uv and reused.

Each orchestrator pins its own dependencies (Airflow's would collide with Dagster's or Prefect's), so its tests
run its command line in a venv of its own: ``requirements`` plus this repository installed in editable mode
(with ``extras``). The venv lives under ``<repo>/.cache/test-venvs/<name>-<key>``; the key hashes the Python
version, the requirements and ``pyproject.toml``, so a change to any of them builds a new one (older ones of the
same name are removed). It is built under a file lock and marked complete only at the end: an interrupted build
is started over, never used.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from filelock import FileLock
from uv import find_uv_bin

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache" / "test-venvs"
COMPLETE = ".complete"
PYPROJECTS = (REPO / "pyproject.toml", REPO / "packages" / "dbt-kickoff-emulator" / "pyproject.toml")


def venv_key(requirements: Sequence[str], extras: Sequence[str]) -> str:
    """What the venv depends on, hashed: Python version, requirements, extras and this repo's pyproject.toml files
    (dbt-kickoff's and the emulator's, which the ``emulator`` extra installs from ``packages/``)."""
    pyprojects = [hashlib.sha256(path.read_bytes()).hexdigest() for path in PYPROJECTS]
    inputs = [list(sys.version_info[:2]), sorted(requirements), sorted(extras), *pyprojects, str(REPO)]
    return hashlib.sha256(json.dumps(inputs).encode()).hexdigest()[:16]


def orchestrator_venv(name: str, requirements: Sequence[str], extras: Sequence[str] = ()) -> Path:
    """The path of a complete venv with ``requirements`` and ``dbt-kickoff[extras]`` (editable), built on first
    use. Raises ``RuntimeError`` with uv's output when the install fails."""
    path = CACHE / f"{name}-{venv_key(requirements, extras)}"
    CACHE.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        if (path / COMPLETE).is_file():
            return path
        shutil.rmtree(path, ignore_errors=True)
        uv = find_uv_bin()
        target = f"{REPO}[{','.join(extras)}]" if extras else str(REPO)
        _uv(uv, "venv", "--quiet", "--python", sys.executable, str(path))
        _uv(uv, "pip", "install", "--quiet", "--compile-bytecode", "--python", str(path / "bin" / "python"),
            *requirements, "-e", target)  # bytecode once: its processes need not compile the orchestrator again
        (path / COMPLETE).write_text(json.dumps({"requirements": list(requirements), "extras": list(extras)}))
        for old in CACHE.glob(f"{name}-*"):
            if old.is_dir() and old != path:
                shutil.rmtree(old, ignore_errors=True)
    return path


def _uv(uv: str, *args: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    done = subprocess.run([uv, *args], capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"uv {args[0]} failed (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")


DBT_AND_DLT = ("dbt-core~=1.11.0", "dbt-duckdb~=1.11.0", "dlt[duckdb]>=1.0,<2")


def orchestrator_python(name: str, requirements: Sequence[str], extras: Sequence[str] = ()) -> Path:
    """The interpreter of an :func:`orchestrator_venv` with ``requirements`` plus dbt-core, dbt-duckdb and dlt."""
    return orchestrator_venv(name, [*requirements, *DBT_AND_DLT], extras) / "bin" / "python"
