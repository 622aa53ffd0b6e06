from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from dbt_kickoff.environments.venv import Venv, get_venv

_recorders: list[list[list[str]]] = []


def _audit(event: str, args: tuple[object, ...]) -> None:
    if event == "subprocess.Popen" and _recorders:
        argv = args[1]
        command = [str(a) for a in argv] if isinstance(argv, (list, tuple)) else [str(argv)]
        for recorder in _recorders:
            recorder.append(command)


sys.addaudithook(_audit)  # audit hooks cannot be removed; it only records while a recorder is active


@contextmanager
def processes_started() -> Iterator[list[list[str]]]:
    """Record the argv of every process started inside the block (through a real audit hook)."""
    recorder: list[list[str]] = []
    _recorders.append(recorder)
    try:
        yield recorder
    finally:
        _recorders.remove(recorder)


@pytest.fixture(scope="session")
def venv_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv cache folder for the test session (uv's download cache stays shared: installs are fast)."""
    return tmp_path_factory.mktemp("venvs")


@pytest.fixture(scope="session")
def duckdb_venv(venv_root: Path) -> Venv:
    """A real venv with dbt-core (default version) and dbt-duckdb, built once per session."""
    return get_venv(adapters=["duckdb"], venv_dir=venv_root)


def cache_entries(root: Path) -> list[str]:
    """Everything in a cache folder except lock files."""
    return sorted(p.name for p in root.iterdir() if not p.name.endswith(".lock")) if root.exists() else []
