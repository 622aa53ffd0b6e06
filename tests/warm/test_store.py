"""The warm part of the run records store, without dbt: publishing is whole-object and safe to race, listing
tells kinds and sizes (locally and on S3), retention keeps the newest of each kind, and ``dbt-kickoff state``
shows and clears it."""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from dbt_kickoff.cli.main import main
from dbt_kickoff.records import RecordStore
from dbt_kickoff.warm import WarmStore
from dbt_kickoff.warm.bundle import Bundle, pack
from tests.warm.conftest import s3_options


def s3_store(endpoint: str, bucket: str) -> RecordStore:
    import boto3

    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                 aws_secret_access_key="testing-secret").create_bucket(Bucket=bucket)
    return RecordStore(f"s3://{bucket}/records", s3_options(endpoint))


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.server)])
def records(request: pytest.FixtureRequest, tmp_path: Path) -> RecordStore:
    if request.param == "local":
        return RecordStore(tmp_path / "records")
    endpoint = request.getfixturevalue("moto_s3")
    return s3_store(endpoint, f"warm-{os.getpid()}-{abs(hash(str(tmp_path))) % 10**8}")


def test_publishers_racing_on_one_key_leave_one_whole_entry(records: RecordStore) -> None:
    store = WarmStore(records)
    path = store.parse_path("k1")

    def publish(writer: int) -> None:
        for _ in range(5):
            state = bytes([0x81, 0xA1, 0x77]) + os.urandom(200_000 + writer)  # sizes differ per writer
            store.write(path, pack({"kind": "parse", "key": "k1", "writer": writer}, {"partial_parse.msgpack": state}))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(publish, range(8)))
    data = store.read(path)
    assert data is not None
    bundle = Bundle(data, kind="parse", key="k1")
    assert len(bundle.read("partial_parse.msgpack")) == 200_003 + bundle.meta["writer"]  # one writer's, whole
    assert [e.path for e in store.entries()] == [path]
    assert records.local_root is None or not [p for p in records.local_root.rglob("*") if p.name.endswith(".part")]


def test_entries_say_kind_and_size_and_can_be_cleared(records: RecordStore) -> None:
    store = WarmStore(records)
    store.write(store.parse_path("k1"), b"x" * 10)
    store.write(store.manifest_path("k1", "f1"), b"y" * 20)
    store.write(store.packages_path("p1"), b"z" * 30)
    records.write_file("refs/latest", b"not warm state")
    entries = store.entries()
    assert [(e.kind, e.name, e.size) for e in entries] == [
        ("parse", "k1.tar.gz", 10), ("manifest", "k1-f1.json.gz", 20), ("packages", "p1.tar.gz", 30)]
    assert all(e.modified > 0 for e in entries)
    assert sorted(store.clear()) == sorted(e.path for e in entries)
    assert store.entries() == [] and records.read_file("refs/latest") == b"not warm state"


def test_retention_keeps_the_newest_entries_of_each_kind(tmp_path: Path) -> None:
    records = RecordStore(tmp_path / "records")
    store = WarmStore(records)
    for age, key in enumerate(["new", "middle", "old"]):
        for path in (store.parse_path(key), store.manifest_path(key, "f")):
            store.write(path, b"1")
            os.utime(tmp_path / "records" / path, (1_000_000 - age * 100, 1_000_000 - age * 100))
    deleted = store.prune(keep_last=2)
    assert sorted(deleted) == sorted([store.parse_path("old"), store.manifest_path("old", "f")])
    assert {e.name for e in store.entries()} == {"new.tar.gz", "middle.tar.gz", "new-f.json.gz", "middle-f.json.gz"}


def test_the_state_command_lists_and_clears(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = WarmStore(RecordStore(tmp_path / "records"))
    store.write(store.parse_path("k1"), b"x" * 3000)
    store.write(store.packages_path("p1"), b"z" * 10)

    assert main(["state", "--records", str(tmp_path / "records")]) == 0
    text = capsys.readouterr().out
    assert "holds 2 warm state entries, 2.9 KiB" in text and "k1.tar.gz" in text and "packages" in text

    assert main(["state", "--records", str(tmp_path / "records"), "--json"]) == 0
    [listed] = json.loads(capsys.readouterr().out)["stores"]
    assert listed["total_bytes"] == 3010 and {e["kind"] for e in listed["entries"]} == {"parse", "packages"}

    assert main(["state", "--records", str(tmp_path / "records"), "--clear"]) == 0
    assert "removed 2 warm state entries" in capsys.readouterr().out
    assert store.entries() == []
    assert main(["state", "--records", str(tmp_path / "records")]) == 0
    assert capsys.readouterr().out.strip() == "no warm state"
