"""Behaviour frozen end to end: three calls' ``report.json`` and results, compared with golden files.

A failing ``run_all``, the ``retry`` that finishes it, and a changed-only ``build`` after a source received
rows (after a full build that is its baseline). Times, ids, paths and fingerprints are normalised; everything
else — steps, arguments, statuses, messages, reasons, identity keys, the changed-only decision — must stay as
recorded. Regenerate on purpose with ``DBT_KICKOFF_UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest

import dbt_kickoff
from dbt_kickoff.errors import DBTProcessingError
from dbt_kickoff.records import open_record
from tests.core.conftest import SHOP_PROJECT, load_orders_duckdb

GOLDEN = Path(__file__).with_name("golden")
VOLATILE_KEYS = {
    "started_at", "finished_at", "completed_at", "duration", "time", "invocation_id", "record_id", "name",
    "record", "fingerprint", "decision_seconds", "dbt_version", "thread_id", "baseline", "loaded_at_sql",
    "package_key", "state_key", "target_key", "retry_key", "location",  # hashes of paths (checked below)
}
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_RECORD_NAME = re.compile(r"\d{8}T\d{6,12}Z-<uuid>")
_SECONDS = re.compile(r"\d+\.\d+s\b")
_HASHED_FOLDER = re.compile(r"-[0-9a-f]{10}\b")
_PROFILES = re.compile(r"/tmp/dbt-kickoff-profiles-\w+")


def normalise(value: Any, tmp: str) -> Any:
    if isinstance(value, dict):
        return {k: ("<volatile>" if k in VOLATILE_KEYS and v is not None else normalise(v, tmp))
                for k, v in sorted(value.items())}
    if isinstance(value, list) and value and all(isinstance(v, dict) and "unique_id" in v for v in value):
        value = sorted(value, key=lambda v: str(v["unique_id"]))  # dbt's threads finish in any order
    if isinstance(value, list):
        return [normalise(v, tmp) for v in value]
    if isinstance(value, str):
        text = _PROFILES.sub("<profiles>", value.replace(tmp, "<tmp>"))
        text = _RECORD_NAME.sub("<record>", _UUID.sub("<uuid>", text))
        return _HASHED_FOLDER.sub("-<hash>", _SECONDS.sub("<s>", text))
    return value


def results_of(results: list[dbt_kickoff.NodeResult], tmp: str) -> list[dict[str, Any]]:
    return normalise([r.to_dict() for r in results], tmp)


def check(name: str, actual: Any) -> None:
    path = GOLDEN / f"{name}.json"
    text = json.dumps(actual, indent=1, sort_keys=True, default=str) + "\n"
    if os.environ.get("DBT_KICKOFF_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    assert path.is_file(), f"no golden file {path}: run with DBT_KICKOFF_UPDATE_GOLDEN=1"
    if json.loads(text) != json.loads(path.read_text()):
        path.with_suffix(".actual").write_text(text)
    assert json.loads(text) == json.loads(path.read_text()), f"{name} differs from {path}"


def record_of(records: Path, tmp: str) -> dict[str, Any]:
    record = open_record("latest", records)
    data = record.data
    identity = data["identity"]
    assert identity["package_key"] == record.identity.package_key
    assert identity["state_key"] == record.identity.state_key
    assert identity["target_key"] == record.identity.target_key and identity["retry_key"] == record.identity.retry_key
    data.pop("files", None)  # which files a record holds is checked by the records tests
    return normalise(data, tmp)


def test_three_calls_match_their_golden_reports(tmp_path: Path) -> None:
    project = tmp_path / "shop"
    shutil.copytree(SHOP_PROJECT, project)
    sources = project / "models" / "sources.yml"
    sources.write_text(sources.read_text().replace(
        "      - name: orders\n",
        "      - name: orders\n        loaded_at_field: cast(created_at as timestamp)\n"
        "        freshness: {warn_after: {count: 1000, period: day}}\n"))
    database = tmp_path / "warehouse.duckdb"
    load_orders_duckdb(database)
    records = tmp_path / "records"
    tmp = str(tmp_path)
    stg = project / "models" / "stg_orders.sql"
    good_sql = stg.read_text()
    with dbt_kickoff.package(f"duckdb:///{database}", project, source_dataset_name="raw_data",
                             records=records) as runner:
        stg.write_text("select id, country, amount, created_at from raw_data.no_such_table\n")
        with pytest.raises(DBTProcessingError) as failed:
            runner.run_all()
        check("run_all_failed", {"record": record_of(records, tmp),
                                 "error_results": results_of(failed.value.run_results, tmp)})

        stg.write_text(good_sql)
        retried = runner.retry()
        check("retry", {"record": record_of(records, tmp), "results": results_of(retried, tmp)})

        runner.build(changed_only=True)  # from the first changed-only call on, full builds measure the sources
        runner.build()
        with duckdb.connect(str(database)) as con:
            con.execute("insert into raw_data.orders values (61, 'DE', 99.0, date '2026-11-30')")
        changed = runner.build(changed_only=True)
        check("changed_only_build", {"record": record_of(records, tmp), "results": results_of(changed, tmp),
                                     "describe": _SECONDS.sub("<s>", runner.last_report.changed.describe())})
