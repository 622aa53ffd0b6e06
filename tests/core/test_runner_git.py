"""The Core runner on a package from a git repository: commit reported, new pushes picked up by run_all."""

from __future__ import annotations

from pathlib import Path

import dbt_kickoff
from tests.core.conftest import SHOP_PROJECT
from tests.sources.upstream import Upstream


def _shop_files() -> dict[str, str]:
    return {str(p.relative_to(SHOP_PROJECT)): p.read_text() for p in SHOP_PROJECT.rglob("*") if p.is_file()}


def test_run_all_from_git_follows_new_commits(tmp_path: Path, shop_duckdb: Path) -> None:
    upstream = Upstream(tmp_path / "repos", name="shop")
    first = upstream.commit({f"dbt/{name}": text for name, text in _shop_files().items()}, "shop package")
    runner = dbt_kickoff.package(
        f"duckdb:///{shop_duckdb}", f"{upstream.file_url}#subdirectory=dbt", package_repository_branch="main",
        working_dir=tmp_path / "checkouts", dataset_name="from_git", source_dataset_name="raw_data",
    )
    with runner:
        results = runner.run_all()
        assert runner.last_report.commit_sha == first == runner.commit_sha
        assert {r.model_name for r in results if r.resource_type == "model"} == {
            "stg_orders", "revenue_by_country", "orders_incremental"}

        second = upstream.commit({"dbt/models/order_count.sql": "select count(*) as n from {{ ref('stg_orders') }}"})
        results = runner.run_all()
    assert runner.last_report.commit_sha == second != first
    assert "order_count" in {r.model_name for r in results}
