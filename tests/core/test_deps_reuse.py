"""``dbt deps`` runs only when the declared packages change: a new runner (a new task process) reuses the
packages a previous one installed, so an unreachable package source no longer fails it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import dbt_kickoff

RAW = {"source_dataset_name": "raw_data"}
MACRO = "{% macro shout(text) %}upper({{ text }}){% endmacro %}"


def _steps(runner: dbt_kickoff.PackageRunner) -> list[str]:
    return [step.command for step in runner.last_report.steps]


def test_deps_is_skipped_while_the_installed_packages_match(shop_duckdb: Path, shop_project: Path,
                                                             tmp_path: Path) -> None:
    helper = tmp_path / "helpers"
    (helper / "macros").mkdir(parents=True)
    (helper / "dbt_project.yml").write_text("name: helpers\nversion: '1.0'\nconfig-version: 2\n")
    (helper / "macros" / "shout.sql").write_text(MACRO)
    for args in (["init", "-q"], ["add", "."], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "v1"]):
        subprocess.run(["git", *args], cwd=helper, check=True)
    declaration = f"packages:\n  - git: file://{helper}\n    revision: HEAD\n"
    (shop_project / "packages.yml").write_text(declaration)
    url = f"duckdb:///{shop_duckdb}"

    with dbt_kickoff.package(url, shop_project, dataset_name="a") as first:
        first.run_all(additional_vars=RAW)
    assert _steps(first)[0] == "deps"
    assert (shop_project / "dbt_packages" / "helpers").is_dir()

    shutil.rmtree(helper)  # the package's repository cannot be reached now (as in a hub or git outage)
    with dbt_kickoff.package(url, shop_project, dataset_name="a") as second:
        second.run_all(additional_vars=RAW)
    assert "deps" not in _steps(second)

    (shop_project / "packages.yml").write_text(declaration + "# changed\n")
    with dbt_kickoff.package(url, shop_project, dataset_name="a") as third:
        try:
            third.run_all(additional_vars=RAW)
        except dbt_kickoff.DBTProcessingError as exc:
            assert exc.command == "deps"  # the declaration changed: deps runs again (and fails: no source)
    assert _steps(third)[0] == "deps"
