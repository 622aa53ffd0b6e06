"""Every dbt v1 version dbt-kickoff claims (dbt-core 1.8, 1.9, 1.10, 1.11) through ``get_venv``, with the
dbt-duckdb it picks (the newest the package index allows with that dbt-core: dbt-duckdb 1.11.1 with all four
when written; the same-minor dbt-duckdb 1.8.4, 1.9.6, 1.10.1 resolve too): a build with a failing model
(per-node results and the error), its run record, and a cancel of a slow model that leaves no dbt process and
no running DuckDB query. The venvs go to the default cache, so later runs reuse them."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import duckdb
import psutil
import pytest

import dbt_kickoff
from dbt_kickoff.engines import DbtEvent
from dbt_kickoff.errors import DbtCancelled, DBTProcessingError
from dbt_kickoff.records import open_record
from tests.core.conftest import SHOP_PROJECT, load_orders_duckdb
from tests.slow_sql import slow_duckdb_model

pytestmark = pytest.mark.slow

TESTED_VERSIONS = ("1.8", "1.9", "1.10", "1.11")


@pytest.fixture(scope="module")
def shop_with_slow_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One copy of the shop package for every version, with a model that runs until it is cancelled (enabled by
    the var ``slow``); each version builds into its own dataset, so into its own target folder."""
    package = Path(shutil.copytree(SHOP_PROJECT, tmp_path_factory.mktemp("v1") / "shop"))
    slow = slow_duckdb_model().replace("{{ config(materialized='table') }}",
                                       "{{ config(materialized='table', enabled=var('slow', false)) }}")
    (package / "models" / "slow.sql").write_text(slow)
    return package


def _worker_processes() -> list[psutil.Process]:
    return [p for p in psutil.Process().children(recursive=True) if "worker_script" in " ".join(p.cmdline())]


@pytest.mark.parametrize("minor", TESTED_VERSIONS)
def test_dbt_version_builds_records_and_stops(minor: str, shop_with_slow_model: Path, tmp_path: Path) -> None:
    venv = dbt_kickoff.get_venv(adapters=["duckdb"], dbt_version=f"{minor}.*")
    assert venv.dbt_version.startswith(f"{minor}.") and venv.engine == "v1"
    database, records = tmp_path / "warehouse.duckdb", tmp_path / "records"
    load_orders_duckdb(database)
    started = threading.Event()

    def on_event(event: DbtEvent) -> None:
        if event.name == "NodeStart" and event.node is not None and event.node.name == "slow":
            started.set()

    dataset = f"v{minor.replace('.', '_')}"
    with dbt_kickoff.package(f"duckdb:///{database}", shop_with_slow_model, venv=venv, dataset_name=dataset,
                             source_dataset_name="raw_data", records=records, on_event=on_event,
                             cancel_grace=5.0) as runner:
        with pytest.raises(DBTProcessingError) as caught:
            runner.build(additional_vars={"break_model": True})
        assert runner.dbt_version == venv.dbt_version
        statuses = {r.model_name: r.status for r in caught.value.run_results if r.resource_type != "test"}
        assert statuses == {"countries": "success", "stg_orders": "error", "orders_incremental": "skipped",
                            "revenue_by_country": "skipped"}
        assert "model stg_orders [error]" in str(caught.value) and "this_table_does_not_exist" in str(caught.value)
        record = open_record("latest", records)
        assert (record.data["call"], record.outcome) == ("build", "failed")
        assert record.data["identity"]["dbt_version"] == venv.dbt_version
        assert "run_results.json" in record.store.files(record.name)

        threading.Thread(target=lambda: started.wait(120) and runner.cancel("stopped by the test"),
                         daemon=True).start()
        with pytest.raises(DbtCancelled) as stopped:
            runner.run(["--select", "slow"], additional_vars={"slow": True})
        assert stopped.value.running == ["slow"] and stopped.value.reason == "stopped by the test"
        with duckdb.connect(str(database)) as con:  # no query holds the file any more: it opens for writing
            assert con.execute("select count(*) from raw_data.orders").fetchone() == (60,)
    assert _worker_processes() == []
