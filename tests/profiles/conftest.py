"""Helpers for the profile tests: run `dbt debug` in a separate process against generated profiles."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from dbt_kickoff.profiles import Profile, ProfilesDir

PROFILE_NAME = "kickoff_test"

# Runs each job's `dbt debug` through dbtRunner in this one child process (dbt is imported once). Secrets come
# on stdin, never in argv, and only enter the child's own environment, for the job that needs them.
_DEBUG_SCRIPT = """
import json, os, sys
from dbt.cli.main import dbtRunner
for index, job in enumerate(json.loads(sys.stdin.read())):
    os.environ.update(job["env"])
    print(f"=== kickoff job {index} ===", flush=True)
    result = dbtRunner().invoke(job["args"])
    print(f"=== kickoff result {index} {int(result.success)} ===", flush=True)
    for name in job["env"]:
        del os.environ[name]
"""
_RESULT = re.compile(r"^=== kickoff result (\d+) ([01]) ===$", re.MULTILINE)


@dataclass
class DebugRun:
    success: bool
    output: str
    project_dir: Path


def run_dbt_debug(jobs: list[tuple[Profile, Path]]) -> list[DebugRun]:
    """`dbt debug --connection` for each (profile, folder) with the generated profiles dir and secret env."""
    payload, dirs, projects = [], [], []
    try:
        for profile, folder in jobs:
            project = folder / "project"
            project.mkdir(parents=True)
            (project / "dbt_project.yml").write_text(
                f"name: kickoff_test\nversion: '1.0'\nconfig-version: 2\nprofile: {PROFILE_NAME}\n"
            )
            profiles = ProfilesDir(profile, PROFILE_NAME)
            dirs.append(profiles)
            projects.append(project)
            args = [
                "--no-use-colors",
                "debug",
                "--connection",
                "--project-dir",
                str(project),
                "--profiles-dir",
                str(profiles.path),
                "--target",
                profiles.target,
            ]
            payload.append({"args": args, "env": dict(profile.secret_env)})
        env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
        proc = subprocess.run(
            [sys.executable, "-c", _DEBUG_SCRIPT],
            input=json.dumps(payload),
            cwd=jobs[0][1],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        for profiles in dirs:
            profiles.cleanup()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    runs = []
    for index, project in enumerate(projects):
        start = proc.stdout.index(f"=== kickoff job {index} ===")
        result = next(m for m in _RESULT.finditer(proc.stdout) if int(m.group(1)) == index)
        runs.append(DebugRun(result.group(2) == "1", proc.stdout[start : result.start()], project))
    return runs


def files_containing(root: Path, needle: str) -> list[Path]:
    """Every file under ``root`` whose bytes contain ``needle``."""
    data = needle.encode()
    return [p for p in root.rglob("*") if p.is_file() and data in p.read_bytes()]


@pytest.fixture(autouse=True)
def _no_dlt_telemetry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
