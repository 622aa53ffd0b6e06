"""Virtual environments for the orchestrator tests: each orchestrator gets its own, so their pins never collide.

``orchestrator_venv("dagster", ["dagster==1.13.*"])`` returns the interpreter of a venv with those requirements,
dbt-core 1.11 with dbt-duckdb and dlt, and this repository installed editable (source changes need no rebuild).
Venvs are cached between runs under ``.cache/orchestrator-venvs/`` of the repository (git-ignored; override
with ``DBT_KICKOFF_TEST_VENVS``), keyed by the requirements, the Python version and ``pyproject.toml``; built
with uv under a file lock (pytest-xdist workers share them), and marked complete only once the install
succeeded, so an interrupted build is redone.
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
COMMON = ("dbt-core~=1.11.0", "dbt-duckdb~=1.11.0", "dlt[duckdb]>=1.0,<2")
_DONE = ".dbt-kickoff-complete"


def venv_root() -> Path:
    return Path(os.environ.get("DBT_KICKOFF_TEST_VENVS") or REPO / ".cache" / "orchestrator-venvs")


def orchestrator_venv(name: str, requirements: Sequence[str]) -> Path:
    """The ``python`` of a cached venv named ``name`` with ``requirements`` (plus dbt, dlt and this repo)."""
    wanted = sorted({*requirements, *COMMON})
    pyproject = (REPO / "pyproject.toml").read_bytes()
    key = hashlib.sha256(
        json.dumps([wanted, sys.version_info[:2], hashlib.sha256(pyproject).hexdigest(), str(REPO)]).encode()
    ).hexdigest()[:12]
    root = venv_root()
    root.mkdir(parents=True, exist_ok=True)
    folder = root / f"{name}-{key}"
    python = folder / "bin" / "python"
    with FileLock(str(root / f"{name}-{key}.lock")):
        if (folder / _DONE).is_file() and python.exists():
            return python
        shutil.rmtree(folder, ignore_errors=True)
        for stale in root.glob(f"{name}-*"):  # older builds of the same orchestrator
            if stale.is_dir() and stale != folder:
                shutil.rmtree(stale, ignore_errors=True)
        uv = find_uv_bin()
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
        _run([uv, "venv", "--quiet", "--python", sys.executable, str(folder)], env)
        _run([uv, "pip", "install", "--quiet", "--python", str(python), *wanted, "-e", str(REPO)], env)
        (folder / _DONE).write_text(json.dumps(wanted) + "\n")
    return python


def _run(argv: list[str], env: dict[str, str]) -> None:
    completed = subprocess.run(argv, env=env, capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"building a test venv failed ({' '.join(argv[:3])} ...):\n{completed.stderr[-4000:]}")


if __name__ == "__main__":  # prebuild: python -m tests.integrations.orchestrator_venv dagster 'dagster==1.13.*'
    print(orchestrator_venv(sys.argv[1], sys.argv[2:]))
