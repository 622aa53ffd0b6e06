"""Fixtures for the hardening tests: a guard that proves nothing started, and a dbt Cloud emulator."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest

from dbt_kickoff.cloud.emulator import DbtCloudEmulator

TOKEN = "dbtc_hardening-Secret-Token-4471"
ACCOUNT = 3
JOB = 70403103900077


def _files(root: Path) -> dict[str, float]:
    found: dict[str, float] = {}
    for folder, dirs, files in os.walk(root):
        for name in files + dirs:
            path = Path(folder) / name
            found[str(path.relative_to(root))] = path.stat().st_mtime if path.is_file() else 0.0
    return found


@dataclass
class Guard:
    """A sandbox (cwd, cache, state, a dbt package) in which a rejected call must leave no trace."""

    root: Path
    project: Path
    cache: Path

    def children(self) -> set[int]:
        return {child.pid for child in psutil.Process().children(recursive=True)}


@pytest.fixture
def guard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Guard]:
    """Asserts, after the test, that no process was started and no file was written or changed."""
    root = tmp_path / "sandbox"
    project = root / "package"
    project.mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: guarded\nprofile: guarded\nversion: '1.0'\n")
    cache = root / "cache"
    for variable, folder in (("XDG_CACHE_HOME", cache), ("XDG_STATE_HOME", root / "state"),
                             ("XDG_DATA_HOME", root / "data")):
        monkeypatch.setenv(variable, str(folder))
    monkeypatch.chdir(root)
    guard = Guard(root=root, project=project, cache=cache)
    children, files = guard.children(), _files(root)
    yield guard
    assert guard.children() <= children, "a process was started"
    assert _files(root) == files, "a file was written"


@pytest.fixture
def emulator() -> Iterator[DbtCloudEmulator]:
    with DbtCloudEmulator() as emu:
        emu.add_account(ACCOUNT, "Hardening")
        emu.add_token(TOKEN, account_ids=[ACCOUNT])
        emu.add_job(ACCOUNT, JOB, "Daily build", execute_steps=["dbt build"])
        yield emu


@pytest.fixture
def cloud_credentials(emulator: DbtCloudEmulator) -> dict[str, Any]:
    return {"api_token": TOKEN, "account_id": ACCOUNT, "job_id": JOB, "base_url": emulator.base_url}
