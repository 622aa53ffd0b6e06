"""Warm state on the shop package with real dbt and a local records folder: a fresh copy of the package in another
folder (the first one gone, as on another machine) starts from the stored parse state and packages; what dbt
cannot use is ignored with one warning; ``build()`` on a fresh clone with packages installs them once."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

import dbt_kickoff
from dbt_kickoff.records import RecordStore
from dbt_kickoff.warm import WarmStore
from dbt_kickoff.warm.bundle import pack
from tests.warm.conftest import RAW, copy_shop, helper_package, use_helpers

pytestmark = pytest.mark.timeout(900)
NOT_FOUND = "Unable to do partial parsing because saved manifest not found"


def runner(database: Path, project: Path, records: Path | bool, **options: object) -> dbt_kickoff.PackageRunner:
    """A runner as a new task process would make it."""
    return dbt_kickoff.package(f"duckdb:///{database}", project, records=records if records is False else str(records),
                               warm_start=False, **options)  # type: ignore[arg-type]


def dbt_log(project: Path) -> str:
    return (project / "logs" / "dbt.log").read_text()


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("dbt_kickoff.warm") and r.levelno >= 30]


def published(tmp_path: Path, database: Path, records: Path) -> WarmStore:
    """A first machine parses the package (its copy is removed afterwards); returns the store it published to."""
    first = copy_shop(tmp_path / "machine-a" / "shop")
    with runner(database, first, records) as a:
        a.invoke(["parse"], additional_vars=RAW)
    assert a.last_report.warm_state is None  # nothing was restored: dbt parsed everything
    assert NOT_FOUND in dbt_log(first)
    shutil.rmtree(tmp_path / "machine-a")
    return WarmStore(RecordStore(records))


def test_a_copy_elsewhere_starts_from_the_stored_parse_state(tmp_path: Path, database: Path) -> None:
    store = published(tmp_path, database, tmp_path / "records")
    assert {e.kind for e in store.entries()} == {"parse", "manifest"}

    second = copy_shop(tmp_path / "machine-b" / "somewhere" / "deeper" / "shop")
    with runner(database, second, tmp_path / "records") as b:
        results = b.build(additional_vars=RAW)
    warm = b.last_report.warm_state
    assert warm is not None and warm.restored == ["parse state"] and warm.partial_parse == "accepted"
    log = dbt_log(second)
    assert "Unable to do partial parsing" not in log
    assert "Partial parsing enabled: 0 files deleted, 0 files added, 0 files changed." in log
    assert {r.status for r in results} <= {"success", "pass"}  # the seed's CSV is read from this copy
    assert any(r.resource_type == "seed" for r in results)

    third = copy_shop(tmp_path / "machine-c" / "shop")
    with runner(database, third, tmp_path / "records", warm_state=False) as c:
        c.build(additional_vars=RAW)
    assert c.last_report.warm_state is None and NOT_FOUND in dbt_log(third)


def test_an_edited_file_is_the_only_one_parsed_again(tmp_path: Path, database: Path) -> None:
    published(tmp_path, database, tmp_path / "records")
    second = copy_shop(tmp_path / "machine-b" / "shop")
    model = second / "models" / "revenue_by_country.sql"
    model.write_text(model.read_text() + "\n-- edited on machine b\n")
    with runner(database, second, tmp_path / "records") as b:
        b.invoke(["parse"], additional_vars=RAW)
    assert b.last_report.warm_state is not None and b.last_report.warm_state.partial_parse == "accepted"
    log = dbt_log(second)
    assert "Unable to do partial parsing" not in log
    assert "Partial parsing enabled: 0 files deleted, 0 files added, 1 files changed." in log


def _state_path(store: WarmStore) -> str:
    [entry] = [e for e in store.entries() if e.kind == "parse"]
    return entry.path


@pytest.mark.parametrize("damage", ["corrupted", "alien", "unreadable by dbt"])
def test_a_state_dbt_cannot_use_is_ignored_with_one_warning(tmp_path: Path, database: Path, damage: str,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    store = published(tmp_path, database, tmp_path / "records")
    path = _state_path(store)
    key = path.rsplit("/", 1)[-1].removesuffix(".tar.gz")
    if damage == "corrupted":
        store.write(path, b"\x1f\x8b" + b"garbage" * 100)
    elif damage == "alien":
        store.write(path, pack({"kind": "parse", "key": "another-package"}, {"partial_parse.msgpack": b"\x80"}))
    else:  # a whole entry of the right key whose state dbt cannot load
        store.write(path, pack({"kind": "parse", "key": key, "project_dir": "/x", "fingerprint": "f"},
                               {"partial_parse.msgpack": b"\x81\xa8metadata\xa4junk"}))
    caplog.set_level(logging.INFO, logger="dbt_kickoff")

    second = copy_shop(tmp_path / "machine-b" / "shop")
    with runner(database, second, tmp_path / "records") as b:
        b.invoke(["parse"], additional_vars=RAW)
    assert b.last_report.success
    [warning] = warnings_of(caplog)
    warm = b.last_report.warm_state
    assert warm is not None
    if damage == "unreadable by dbt":
        assert "did not use the parse state" in warning and warm.partial_parse not in (None, "accepted")
        assert "Failed to load parsed file from disk" in dbt_log(second) or (
            "Unable to do partial parsing" in dbt_log(second))
    else:
        assert "is not used" in warning and warm.restored == [] and len(warm.ignored) == 1
        assert NOT_FOUND in dbt_log(second)
    with runner(database, copy_shop(tmp_path / "machine-c" / "shop"), tmp_path / "records") as c:
        c.invoke(["parse"], additional_vars=RAW)  # machine b published a good state again
    assert c.last_report.warm_state is not None and c.last_report.warm_state.partial_parse == "accepted"


def test_build_on_a_fresh_clone_installs_packages_once_then_another_restores_them(
        tmp_path: Path, database: Path) -> None:
    url = helper_package(tmp_path / "helpers")
    records = tmp_path / "records"
    first = copy_shop(tmp_path / "machine-a" / "shop")
    use_helpers(first, url)
    with runner(database, first, records) as a:
        results = a.build(additional_vars=RAW)
        assert [s.command for s in a.last_report.steps] == ["deps", "build"]
        assert a.last_report.packages == "installed"
        assert "shouted" in {r.model_name for r in results}
        a.build(additional_vars=RAW)
        assert [s.command for s in a.last_report.steps] == ["build"] and a.last_report.packages == "up to date"
    without_records = copy_shop(tmp_path / "machine-x" / "shop")
    use_helpers(without_records, url)
    with runner(database, without_records, False) as x:
        x.build(additional_vars=RAW)
    assert x.last_report.packages == "installed"

    shutil.rmtree(tmp_path / "helpers")  # the package's repository cannot be reached now: offline
    second = copy_shop(tmp_path / "machine-b" / "shop")
    use_helpers(second, url)
    with runner(database, second, records) as b:
        results = b.build(additional_vars=RAW)
    report = b.last_report
    assert [s.command for s in report.steps] == ["build"] and report.packages == "restored"
    assert report.warm_state is not None and report.warm_state.restored == ["parse state", "packages"]
    assert report.warm_state.partial_parse == "accepted"
    assert (second / "dbt_packages" / "helpers" / "macros" / "shout.sql").is_file()
    assert (second / "package-lock.yml").read_text() == (first / "package-lock.yml").read_text()
    assert report.to_dict()["packages"] == "restored"
    assert "Unable to do partial parsing" not in dbt_log(second)

    third = copy_shop(tmp_path / "machine-c" / "shop")  # an orchestrator's code location: renders, never runs
    use_helpers(third, url)
    with runner(database, third, records) as c:
        assert "model.shop.shouted" in c.manifest(additional_vars=RAW)["nodes"]
        assert c.session.engine is None and (third / "dbt_packages" / "helpers").is_dir()


def test_retention_keeps_the_newest_entries_of_each_kind(tmp_path: Path, database: Path) -> None:
    project = copy_shop(tmp_path / "shop")
    for day in ("2026-01-01", "2026-01-02", "2026-01-03"):  # other vars: another parse-state key each time
        with runner(database, project, tmp_path / "records", keep_last=2) as r:
            r.invoke(["parse"], additional_vars={**RAW, "day": day})
    entries = WarmStore(RecordStore(tmp_path / "records")).entries()
    assert sorted(e.kind for e in entries) == ["manifest", "manifest", "parse", "parse"]


def test_the_manifest_for_definitions_is_read_without_dbt(tmp_path: Path, database: Path) -> None:
    published(tmp_path, database, tmp_path / "records")
    second = copy_shop(tmp_path / "machine-b" / "shop")
    with runner(database, second, tmp_path / "records") as b:
        manifest = b.manifest(additional_vars=RAW)
        assert b.session.engine is None and not (second / "logs").exists()  # dbt never started
    assert "model.shop.stg_orders" in manifest["nodes"]

    (second / "models" / "extra.sql").write_text("select 1 as one\n")  # no manifest for these files yet
    with runner(database, second, tmp_path / "records") as b:
        manifest = b.manifest(additional_vars=RAW)
        assert b.session.engine is not None  # dbt parsed
    assert "model.shop.extra" in manifest["nodes"]
    with runner(database, second, tmp_path / "records") as b:
        assert "model.shop.extra" in b.manifest(additional_vars=RAW)["nodes"]
        assert b.session.engine is None  # the target folder's manifest, stamped for these files
