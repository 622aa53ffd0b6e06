"""One parse state per destination dataset: alternating datasets in new runners (new dbt processes) stays warm.

dbt keeps its partial-parse state (``partial_parse.msgpack``) in the target path and throws it away when the
profile or vars change, so one ``target/`` shared by two datasets meant a full parse on every switch. The
runner gives each profile+dataset its own target path; the assertions read dbt's own partial-parse messages.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import dbt_kickoff
from dbt_kickoff.core import invocations as command_line
from dbt_kickoff.engines import DbtEvent
from tests.core.conftest import SHOP_PROJECT, load_orders_duckdb

FULL_PARSE = "Unable to do partial parsing because"
NO_CHANGES = "Partial parsing enabled, no changes found, skipping parsing"


@pytest.fixture
def shop_project(tmp_path: Path) -> Path:
    return Path(shutil.copytree(SHOP_PROJECT, tmp_path / "shop"))


@pytest.fixture
def shop_duckdb(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    load_orders_duckdb(path)
    return path


def _log_since(log: Path, offset: int) -> str:
    return log.read_bytes()[offset:].decode("utf-8", errors="replace") if log.is_file() else ""


def test_alternating_datasets_in_new_runners_reparse_only_on_the_first_visit(
    shop_project: Path, shop_duckdb: Path
) -> None:
    log = shop_project / "logs" / "dbt.log"
    visits: list[tuple[str, str, list[DbtEvent], Path]] = []
    for dataset in ("alpha", "beta", "alpha", "beta"):
        offset = log.stat().st_size if log.is_file() else 0
        events: list[DbtEvent] = []
        # a new runner each time: a new dbt process, as in one task process per orchestrator task
        with dbt_kickoff.package(f"duckdb:///{shop_duckdb}", shop_project, dataset_name=dataset,
                                 source_dataset_name="raw_data", on_event=events.append, records=False) as runner:
            runner.invoke(["parse"])  # dbt's parse events reach on_event
            built = runner.build()
            target = runner.target_path()
        assert {r.status for r in built} <= {"success", "pass"}
        visits.append((dataset, _log_since(log, offset), events, target))

    (_, first_alpha, alpha_events, alpha_target), (_, first_beta, _, beta_target) = visits[:2]
    assert alpha_target != beta_target and alpha_target.parent == beta_target.parent == shop_project / "target"
    assert "saved manifest not found" in first_alpha and "saved manifest not found" in first_beta
    assert any(FULL_PARSE in e.message for e in alpha_events)
    for dataset, text, events, target in visits[2:]:
        assert FULL_PARSE not in text, f"{dataset}: dbt parsed the project fully again:\n{text[-3000:]}"
        assert NO_CHANGES in text, dataset
        assert not [e.message for e in events if FULL_PARSE in e.message], dataset
        assert (target / "partial_parse.msgpack").is_file() and (target / "run_results.json").is_file()
    assert [target for _, _, _, target in visits] == [alpha_target, beta_target, alpha_target, beta_target]


def test_a_dataset_given_per_call_uses_that_datasets_target(shop_project: Path, shop_duckdb: Path) -> None:
    with dbt_kickoff.package(f"duckdb:///{shop_duckdb}", shop_project, dataset_name="alpha",
                             source_dataset_name="raw_data", records=False) as runner:
        runner.seed(destination_dataset_name="gamma")
        gamma = runner.target_path("gamma")
        assert gamma != runner.target_path() and gamma.name.startswith("gamma-")
        assert (gamma / "run_results.json").is_file()
        assert not (runner.target_path() / "run_results.json").exists()


def test_state_folder_is_per_profile_and_dataset() -> None:
    first = command_line.state_folder("alpha", ["duckdb", "shop", "dev"])
    assert first == command_line.state_folder("alpha", ["duckdb", "shop", "dev"])
    assert first != command_line.state_folder("beta", ["duckdb", "shop", "dev"])
    assert first != command_line.state_folder("alpha", ["postgres", "shop", "dev"])
    assert command_line.state_folder("../../etc x", []).startswith("_.._etc_x-")
    assert command_line.state_folder(None, []).startswith("default-")
