"""Run records' own rules, where dbt only supplies the artifacts (fake engine): a record of another package or dbt
version is refused, an unwritable records folder warns once and the run stands, ``keep_last`` prunes but keeps
the last good run. (What a real dbt run leaves in a record: tests/records/test_records_duckdb.py.)"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

import dbt_kickoff
from dbt_kickoff.errors import ConfigurationError, DBTProcessingError
from dbt_kickoff.records import (
    RecordIncomplete,
    RecordNotFound,
    RecordStore,
    identity_for,
    last_successful_record,
    open_record,
    prune,
    store_for,
)
from tests.fake_engine import FakeDbt


def test_record_of_another_package_or_dbt_version_is_refused(
    make_runner: Callable[..., dbt_kickoff.PackageRunner], fake: FakeDbt, project: Path, warehouse: Path,
    records: Path, tmp_path: Path,
) -> None:
    runner = make_runner()
    runner.seed()
    record = open_record("latest", records)
    other = tmp_path / "other_shop"
    shutil.copytree(project, other)
    with dbt_kickoff.package(f"duckdb:///{warehouse}", other, source_dataset_name="raw_data", records=False,
                             venv=fake.environment()) as stranger:
        with pytest.raises(ConfigurationError, match="is of the package"):
            stranger.retry(record.uri)
    copy = tmp_path / "copies" / record.name
    shutil.copytree(Path(record.uri), copy)
    data = json.loads((copy / "report.json").read_text())
    data["identity"]["dbt_version"] = "1.5.0"
    data["outcome"] = "failed"
    (copy / "report.json").write_text(json.dumps(data))
    before = len(fake.commands)
    with pytest.raises(ConfigurationError, match=r"made with dbt 1\.5\.0"):
        runner.retry(str(copy))
    assert fake.commands[before:] == []
    (copy / "report.json").unlink()
    with pytest.raises(RecordIncomplete, match="half-written"):
        open_record(str(copy))
    with pytest.raises(RecordNotFound):
        open_record(str(tmp_path / "nothing-here"))


def test_unwritable_records_folder_warns_once_and_the_run_stands(
    make_runner: Callable[..., dbt_kickoff.PackageRunner], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("records cannot go below a file")
    caplog.set_level(logging.WARNING)
    runner = make_runner(records=blocker / "records")
    results = runner.seed()
    assert [r.status for r in results] == ["success"]
    assert runner.last_report.outcome == "success" and runner.last_report.record is None
    warnings = [r for r in caplog.records if "run record could not be written" in r.getMessage()]
    assert len(warnings) == 1
    assert not any(p.name.startswith(".partial-") for p in tmp_path.rglob("*"))


def test_keep_last_prunes_old_records_but_keeps_the_last_good_one(
    make_runner: Callable[..., dbt_kickoff.PackageRunner], fake: FakeDbt, records: Path
) -> None:
    runner = make_runner(keep_last=2)
    runner.seed()
    good = open_record("latest", records).name
    # what changed-only builds look up before they run: the last good run of this package/target/vars/dbt
    identity = identity_for(runner)
    store = store_for(runner)
    assert store is not None and store.uri() == str(records)
    found = last_successful_record(store, identity)
    assert found is not None and found.name == good and found.identity == identity
    assert last_successful_record(store, identity_for(runner, {"other": 1})) is None
    fake.fail("stg_orders")
    for _ in range(3):
        with pytest.raises(DBTProcessingError):
            runner.run()
    runner.close()
    store = RecordStore(records)
    names = store.names()
    assert len(names) == 3 and good in names  # the 2 newest + the last successful run (named by a ref)
    assert prune(store, 1) == [names[-2]]
