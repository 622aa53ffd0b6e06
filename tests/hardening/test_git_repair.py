"""A git checkout damaged between two calls of a warm runner is repaired on the next call, as on the first.

One runner (one warm dbt worker) builds a package from a real git repository (file://); between its calls
the cached checkout is damaged in the ways a disk, a person or a crashed process does: a model deleted, a
model edited and a stray one added, git's objects lost, the whole checkout folder gone. Each next ``build()``
(which does not fetch) must repair the checkout and build the same nodes at the same commit.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import dbt_kickoff
from tests.core.conftest import SHOP_PROJECT, load_orders_duckdb
from tests.sources.upstream import Upstream


def _delete_a_model(checkout: Path) -> None:
    (checkout / "models" / "stg_orders.sql").unlink()


def _edit_and_add_models(checkout: Path) -> None:
    (checkout / "models" / "revenue_by_country.sql").write_text("select broken sql from nowhere\n")
    (checkout / "models" / "stray.sql").write_text("select * from a_table_that_does_not_exist\n")


def _lose_git_objects(checkout: Path) -> None:
    shutil.rmtree(checkout / ".git" / "objects")


def _remove_the_checkout(checkout: Path) -> None:
    shutil.rmtree(checkout)


DAMAGE: list[Callable[[Path], None]] = [_delete_a_model, _edit_and_add_models, _lose_git_objects,
                                        _remove_the_checkout]


def test_a_warm_runner_repairs_its_damaged_checkout_on_the_next_call(tmp_path: Path) -> None:
    upstream = Upstream(tmp_path / "repos", name="shop")
    files = {str(p.relative_to(SHOP_PROJECT)): p.read_text() for p in SHOP_PROJECT.rglob("*") if p.is_file()}
    commit = upstream.commit(files, "shop package")
    database = tmp_path / "warehouse.duckdb"
    load_orders_duckdb(database)
    with dbt_kickoff.package(f"duckdb:///{database}", upstream.file_url, package_repository_branch="main",
                             working_dir=tmp_path / "checkouts", dataset_name="repaired",
                             source_dataset_name="raw_data", records=False) as runner:
        first = runner.build()
        checkout = runner.package_dir
        expected = sorted((r.unique_id, r.status) for r in first)
        assert {status for _, status in expected} <= {"success", "pass"} and len(expected) > 5
        for damage in DAMAGE:
            damage(checkout)
            again = runner.build()
            assert sorted((r.unique_id, r.status) for r in again) == expected, damage.__name__
            assert runner.commit_sha == commit, damage.__name__
            assert (checkout / "models" / "stg_orders.sql").read_text() == files["models/stg_orders.sql"]
            assert not (checkout / "models" / "stray.sql").exists()
