"""A target/ or logs folder dbt cannot write gives a typed error naming the folder, before any dbt command runs.

Tests run as root, whom a read-only mode does not stop; a folder whose parent is a regular file cannot be
created by anyone, so that is the unwritable folder here (the same check covers a read-only one: it creates
the folder and a probe file in it, as dbt would).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import dbt_kickoff
from dbt_kickoff import PrerequisitesException
from tests.core.conftest import SHOP_PROJECT, load_orders_duckdb


def _blocked_project(tmp_path: Path, setting: str) -> tuple[Path, Path]:
    """The shop package with ``setting`` (target-path or log-path) pointing under a regular file."""
    project = Path(shutil.copytree(SHOP_PROJECT, tmp_path / "shop"))
    blocker = project / "not-a-folder"
    blocker.write_text("a file where dbt expects a folder\n")
    with (project / "dbt_project.yml").open("a") as config:
        config.write(f"{setting}: not-a-folder/out\n")
    return project, blocker / "out"


@pytest.mark.parametrize(("setting", "what"), [("target-path", "artifacts"), ("log-path", "log file")])
@pytest.mark.parametrize("call", ["build", "run_all", "sources"])
def test_an_unwritable_output_folder_is_a_typed_error_before_dbt_runs(
    tmp_path: Path, setting: str, what: str, call: str
) -> None:
    project, folder = _blocked_project(tmp_path, setting)
    database = tmp_path / "warehouse.duckdb"
    load_orders_duckdb(database)
    events: list[object] = []
    with dbt_kickoff.package(f"duckdb:///{database}", project, dataset_name="out", source_dataset_name="raw_data",
                             warm_start=False, records=False, on_event=events.append) as runner:
        with pytest.raises(PrerequisitesException) as caught:
            getattr(runner, call)()
        assert runner.session.engine is None, "dbt was started"
        assert runner.last_report.steps == []
    message = str(caught.value)
    assert str(folder) in message and f"cannot write its {what}" in message
    assert setting in message and "writable" in message
    assert events == []


def test_the_cli_says_which_folder_in_one_line(tmp_path: Path) -> None:
    project, folder = _blocked_project(tmp_path, "target-path")
    done = subprocess.run(
        [sys.executable, "-m", "dbt_kickoff.cli.main", "run", str(project), "--destination",
         f"duckdb:///{tmp_path / 'w.duckdb'}", "--command", "seed", "--no-records"],
        capture_output=True, text=True, timeout=300, env=dict(os.environ), cwd=tmp_path,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and str(folder) in lines[0] and "Traceback" not in done.stderr
