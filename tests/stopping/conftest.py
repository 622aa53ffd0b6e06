from __future__ import annotations

import shutil
from pathlib import Path

import pytest

STOP_PROJECT_FILES = {
    "dbt_project.yml": "name: stop_test\nversion: '1.0'\nconfig-version: 2\nprofile: stop_test\n"
                       "models:\n  stop_test:\n    +materialized: table\n",
    "models/fast.sql": "select 1 as id",
}


@pytest.fixture
def stop_project(tmp_path: Path) -> Path:
    """A package with a fast model and a slow one after it (``slow`` runs for a minute in the warehouse)."""
    root = tmp_path / "stop_project"
    for name, text in STOP_PROJECT_FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
