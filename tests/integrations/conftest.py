from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.core.conftest import SHOP_PROJECT, load_orders_duckdb


@pytest.fixture
def shop(tmp_path: Path) -> dict[str, str]:
    """A copy of the test dbt package and a real DuckDB file with raw_data.orders loaded."""
    package = tmp_path / "shop"
    shutil.copytree(SHOP_PROJECT, package)
    database = tmp_path / "warehouse.duckdb"
    load_orders_duckdb(database)
    return {"package": str(package), "destination": f"duckdb:///{database}", "database": str(database)}


def run_script(python: Path, script: Path, *args: str, timeout: float = 1200,
               env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Run ``script`` with an orchestrator venv's interpreter; its last stdout line is a JSON document.

    Output goes through files, not pipes, so a process the script leaves behind cannot hold the test up; and
    every process seen below the script while it ran (Prefect's temporary API server, a uvicorn, and their
    children) is stopped when it ends, however it ends.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen([str(python), str(script), *args], stdout=out, stderr=err, text=True,
                                   env={**os.environ, **(env or {})})
        below: dict[int, psutil.Process] = {}
        try:
            code = _wait_watching(process, below, timeout)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            stop_processes(below.values())
        out.seek(0)
        err.seek(0)
        lines, errors = out.read().strip().splitlines(), err.read()
    assert code == 0 and lines, f"{script.name} failed ({code}):\n{errors[-6000:]}"
    return dict(json.loads(lines[-1]))


@contextlib.contextmanager
def serving(python: Path, script: Path, *args: str, timeout: float = 600) -> Iterator[dict[str, Any]]:
    """Start ``script`` as a server for the duration of the block: its first stdout line (a JSON document) is
    yielded; closing its stdin asks it to stop; it and every process below it are stopped afterwards."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen([str(python), str(script), *args], stdin=subprocess.PIPE, stdout=out,
                                   stderr=err, text=True)
        parent = psutil.Process(process.pid)
        below: dict[int, psutil.Process] = {}
        try:
            deadline = time.monotonic() + timeout
            out.seek(0)
            while not (line := out.readline()).endswith("\n"):
                err.seek(0)
                assert process.poll() is None, f"{script.name} exited ({process.returncode}):\n{err.read()[-6000:]}"
                assert time.monotonic() < deadline, f"{script.name} did not start within {timeout}s"
                time.sleep(0.5)
                out.seek(0)
            yield dict(json.loads(line))
        finally:
            with contextlib.suppress(psutil.Error):
                below.update((child.pid, child) for child in parent.children(recursive=True))
            assert process.stdin is not None
            with contextlib.suppress(OSError):
                process.stdin.close()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            stop_processes(below.values())


def _wait_watching(process: subprocess.Popen[str], below: dict[int, psutil.Process], timeout: float) -> int:
    """Wait for ``process``, recording its descendants (they are reparented, so untraceable, once it exits)."""
    deadline = time.monotonic() + timeout
    parent = psutil.Process(process.pid)
    while True:
        with contextlib.suppress(psutil.Error):
            below.update((child.pid, child) for child in parent.children(recursive=True))
        try:
            return process.wait(timeout=min(1.0, max(0.0, deadline - time.monotonic())))
        except subprocess.TimeoutExpired:
            if time.monotonic() >= deadline:
                raise


def stop_processes(processes: Iterable[psutil.Process], grace: float = 10) -> None:
    """Terminate the processes that still run (and their own children), then kill what outlives ``grace``."""
    alive: dict[int, psutil.Process] = {}
    for proc in processes:
        with contextlib.suppress(psutil.Error):
            if proc.is_running():  # also false when the pid was reused by another process
                alive.update((p.pid, p) for p in [proc, *proc.children(recursive=True)])
    for proc in alive.values():
        with contextlib.suppress(psutil.Error):
            proc.terminate()
    _, left = psutil.wait_procs(list(alive.values()), timeout=grace)
    for proc in left:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(left, timeout=grace)
