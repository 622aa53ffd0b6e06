"""``dbt-kickoff v2 check|fix``: dbt-autofix from its cached tool venv with the v2 engine's own schemas, offline,
on a v1-only copy of the shop package; the fixed copy then runs on dbt v2 (DuckDB) and on dbt v1."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from tests.core.conftest import SHOP_PROJECT, load_orders_duckdb
from tests.fusion.driver import FUSION_VERSION

import dbt_kickoff
from dbt_kickoff.autofix import AUTOFIX_REQUIREMENT, check_package, fix_package
from dbt_kickoff.cli.main import main
from dbt_kickoff.environments.venv import Venv, tool_venv
from dbt_kickoff.errors import ConfigurationError, PrerequisitesException

V1_ONLY_TEST = """      - name: orders
        data_tests:
          - accepted_values:
              values: [20]
              quote: false
"""


def _v1_only_shop(folder: Path) -> Path:
    """The shop package with YAML only dbt v1 accepts: ``materialized:`` without ``+``, a test's arguments
    beside its name."""
    package = Path(shutil.copytree(SHOP_PROJECT, folder))
    project = package / "dbt_project.yml"
    project.write_text(project.read_text().replace("+materialized: view", "materialized: view"))
    schema = package / "models" / "schema.yml"
    schema.write_text(schema.read_text() + V1_ONLY_TEST)  # 20 orders per country
    return package


def _files(package: Path) -> dict[str, bytes]:
    return {p.relative_to(package).as_posix(): p.read_bytes() for p in sorted(package.rglob("*")) if p.is_file()}


def _statuses(results: list[dbt_kickoff.NodeResult]) -> set[str]:
    return {r.status for r in results}


@pytest.mark.slow
def test_check_lists_the_changes_and_fix_makes_the_package_run_on_v2(
    fusion_venv: Venv, fusion_duckdb_drivers: Path, isolated_driver_cache: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    package = _v1_only_shop(tmp_path / "shop")
    database = tmp_path / "warehouse.duckdb"
    load_orders_duckdb(database, storage_version="v1.5.0")
    destination = {"type": "duckdb", "path": str(database)}
    venvs = str(fusion_venv.path.parent)
    v2 = dbt_kickoff.get_venv("duckdb", dbt_version=FUSION_VERSION, drivers=fusion_duckdb_drivers, venv_dir=venvs)
    with dbt_kickoff.package(destination, package, venv=v2, source_dataset_name="raw_data", records=False) as runner:
        with pytest.raises(PrerequisitesException, match=f"dbt-kickoff v2 fix {package} --in-place"):
            runner.build()
    before = _files(package)

    assert main(["v2", "check", str(package), "--dbt-version", FUSION_VERSION, "--venv-dir", venvs]) == 1
    out = capsys.readouterr().out
    assert "dbt_project.yml: Added '+' in front of the nested config 'materialized'" in out
    assert "models/schema.yml: Test 'accepted_values' - Custom test argument 'values' moved under 'arguments'" in out
    assert _files(package) == before  # a dry run, on a copy

    assert main(["v2", "fix", str(package), "--dbt-version", FUSION_VERSION, "--venv-dir", venvs, "--json"]) == 0
    fixed = Path(json.loads(capsys.readouterr().out)["package"])
    assert fixed == tmp_path / "shop-v2" and _files(package) == before
    assert "+materialized: view" in (fixed / "dbt_project.yml").read_text()
    with dbt_kickoff.package(destination, fixed, venv=v2, source_dataset_name="raw_data", dataset_name="on_v2",
                             records=False) as runner:
        assert _statuses(runner.build()) == {"success", "pass"}
    with dbt_kickoff.package(destination, fixed, source_dataset_name="raw_data", dataset_name="on_v1",
                             records=False) as runner:
        assert _statuses(runner.build()) == {"success", "pass"}  # still a dbt v1 package
    assert main(["v2", "check", str(fixed), "--dbt-version", FUSION_VERSION, "--venv-dir", venvs]) == 0

    report = fix_package(package, in_place=True, dbt_version=FUSION_VERSION, venv_dir=venvs)
    assert report.package == package and report.applied and len(report.changes) == 4
    assert not check_package(package, dbt_version=FUSION_VERSION, venv_dir=venvs).needs_changes

    tool = tool_venv(AUTOFIX_REQUIREMENT, venv_dir=venvs)  # dbt-autofix's own cached venv, listed as a tool
    assert main(["venv", "list", "--venv-dir", venvs]) == 0
    assert any(line.startswith(f"{tool.key}  tool  ") for line in capsys.readouterr().out.splitlines())
    with pytest.raises(ConfigurationError, match="holds a tool"):
        dbt_kickoff.package(destination, package, venv=tool)


def test_bad_input_is_refused_before_anything_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    package = _v1_only_shop(tmp_path / "shop")
    (tmp_path / "shop-v2").mkdir()
    with pytest.raises(ConfigurationError, match="not a dbt package folder"):
        check_package(tmp_path, venv_dir=tmp_path / "venvs")
    with pytest.raises(ConfigurationError, match="not the dbt v2 engine"):
        check_package(package, dbt_version="1.11.*", venv_dir=tmp_path / "venvs")
    with pytest.raises(ConfigurationError, match="already exists"):
        fix_package(package, venv_dir=tmp_path / "venvs")
    with pytest.raises(ConfigurationError, match="in_place must be True or False"):
        fix_package(package, in_place="yes", venv_dir=tmp_path / "venvs")  # type: ignore[arg-type]
    assert main(["v2", "fix", str(package), "--in-place", "--output", str(tmp_path / "x")]) == 2
    assert "not allowed with argument" in capsys.readouterr().err
    assert not (tmp_path / "venvs").exists()
