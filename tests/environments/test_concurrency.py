"""Two processes asking for one venv share one build; a build killed midway leaves nothing that counts."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from dbt_kickoff.environments.venv import get_venv
from tests.environments.conftest import cache_entries

pytestmark = pytest.mark.slow


def _build_and_count(root: str, start: Any, results: Any) -> None:
    venv_creations: list[list[str]] = []

    def audit(event: str, args: tuple[object, ...]) -> None:
        if event == "subprocess.Popen" and "venv" in [str(a) for a in args[1]]:  # type: ignore[attr-defined]
            venv_creations.append([str(a) for a in args[1]])  # type: ignore[attr-defined]

    sys.addaudithook(audit)
    start.wait()
    venv = get_venv(adapters=["duckdb"], dbt_version="1.11.*", venv_dir=root)
    results.put((str(venv.path), venv.dbt_version, len(venv_creations)))


def test_two_processes_one_build_both_succeed(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    workers = [context.Process(target=_build_and_count, args=(str(tmp_path), start, results)) for _ in range(2)]
    for worker in workers:
        worker.start()
    start.set()
    outcomes = [results.get(timeout=300) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    assert outcomes[0][:2] == outcomes[1][:2]
    assert sorted(count for _, _, count in outcomes) == [0, 1]  # exactly one of them built the venv
    assert cache_entries(tmp_path) == [Path(outcomes[0][0]).name]


def test_a_build_killed_midway_is_garbage_and_rebuilt(tmp_path: Path) -> None:
    script = (
        "import sys; from dbt_kickoff.environments.venv import get_venv; "
        "get_venv(adapters=['duckdb'], dbt_version='1.11.*', venv_dir=sys.argv[1])"
    )
    builder = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not any(p.name.startswith(".tmp-") and (p / "pyvenv.cfg").exists() for p in tmp_path.iterdir()):
            assert builder.poll() is None and time.monotonic() < deadline, "the build never started"
            time.sleep(0.02)
    finally:
        os.killpg(builder.pid, signal.SIGKILL)  # the builder and its uv child, mid-install
        builder.wait()
    assert [name for name in cache_entries(tmp_path) if not name.startswith(".tmp-")] == []
    venv = get_venv(adapters=["duckdb"], dbt_version="1.11.*", venv_dir=tmp_path)
    assert venv.exists()
    assert cache_entries(tmp_path) == [venv.path.name]
