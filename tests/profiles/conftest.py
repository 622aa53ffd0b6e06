"""Helpers for the profile tests: run `dbt debug` in a separate process against a generated profile."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from dbt_kickoff.profiles import Profile, ProfilesDir

PROFILE_NAME = "kickoff_test"

_DEBUG_SCRIPT = """
import sys
from dbt.cli.main import dbtRunner
result = dbtRunner().invoke(sys.argv[1:])
sys.exit(0 if result.success else 1)
"""


@dataclass
class DebugRun:
    returncode: int
    output: str
    project_dir: Path


def run_dbt_debug(profile: Profile, tmp_path: Path) -> DebugRun:
    """`dbt debug` through dbtRunner in a subprocess, with the generated profiles dir and secret env vars."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "dbt_project.yml").write_text(
        f"name: kickoff_test\nversion: '1.0'\nconfig-version: 2\nprofile: {PROFILE_NAME}\n"
    )
    env = {**os.environ, **profile.secret_env, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    with ProfilesDir(profile, PROFILE_NAME) as profiles:
        proc = subprocess.run(
            [
                sys.executable,
                "-c",
                _DEBUG_SCRIPT,
                "--no-use-colors",
                "debug",
                "--connection",
                "--project-dir",
                str(project),
                "--profiles-dir",
                str(profiles.path),
                "--target",
                profiles.target,
            ],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    return DebugRun(proc.returncode, proc.stdout + proc.stderr, project)


def files_containing(root: Path, needle: str) -> list[Path]:
    """Every file under ``root`` whose bytes contain ``needle``."""
    data = needle.encode()
    return [p for p in root.rglob("*") if p.is_file() and data in p.read_bytes()]


@pytest.fixture(autouse=True)
def _no_dlt_telemetry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
