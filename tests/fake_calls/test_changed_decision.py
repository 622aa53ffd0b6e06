"""The changed-only decision on the fake engine: what it builds, why, and when dbt is not started at all.

The freshness of the package's one source is measured in a real DuckDB file (as in production); dbt's part
(``build --select ... --state``, ``ls`` for ``state:modified+``) is the fake's.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

import dbt_kickoff
from tests.fake_calls.conftest import MODELS, TESTS
from tests.fake_engine import FakeDbt

BUILT = {"countries", *MODELS, *TESTS}


def reasons(results: list[dbt_kickoff.NodeResult]) -> dict[str, str | None]:
    return {r.model_name: r.reason for r in results}


def test_without_a_record_everything_is_built_and_says_why(runner: dbt_kickoff.PackageRunner,
                                                           fake: FakeDbt) -> None:
    results = runner.build(changed_only=True)
    assert set(reasons(results)) == BUILT
    assert set(reasons(results).values()) == {
        "no usable previous run: first run (no record of this package and target)"}
    assert fake.commands[-1].name == "build" and fake.commands[-1].option("--select") == []
    assert runner.last_report.changed is not None and runner.last_report.changed.built_everything


def test_nothing_changed_since_the_last_good_run_starts_no_dbt(runner: dbt_kickoff.PackageRunner,
                                                               fake: FakeDbt) -> None:
    runner.build(changed_only=True)  # from the first changed-only call on, full builds measure the sources
    runner.build()  # a full build: it records the source's freshness (the first call left the manifest)
    before, engines = len(fake.commands), len(fake.engines)
    assert runner.build(changed_only=True) == []
    assert fake.commands[before:] == [] and len(fake.engines) == engines
    changed = runner.last_report.changed
    assert changed is not None and changed.dbt_started is False and changed.reasons == {}
    assert changed.unchanged_count == len(BUILT)
    assert "nothing changed" in changed.describe() and "dbt not started" in changed.describe()


def test_a_node_that_failed_last_time_is_rebuilt_with_its_reason(runner: dbt_kickoff.PackageRunner,
                                                                fake: FakeDbt) -> None:
    runner.build(changed_only=True)  # from the first changed-only call on, full builds measure the sources
    runner.build()
    fake.fail("revenue_by_country")
    with pytest.raises(dbt_kickoff.DBTProcessingError):
        runner.build()
    fake.heal("revenue_by_country")
    before = len(fake.commands)
    results = runner.build(changed_only=True)
    assert fake.command_names[before:] == ["build"]  # decided on the recorded manifest: no dbt ls
    build = fake.commands[before]
    assert build.option("--select") == ["result:skipped+", "result:error+"] and build.option("--state")
    assert reasons(results) == {
        "revenue_by_country": "failed last time",
        "not_null_revenue_by_country_country": "skipped last time",
        "unique_revenue_by_country_country": "skipped last time",
        "no_negative_revenue": "skipped last time",
    }
    assert all(r.status in ("success", "pass") for r in results)
    assert runner.last_report.changed is not None and runner.last_report.changed.dbt_started is False


def test_changed_code_is_found_by_dbt_ls_and_built_with_what_is_downstream(
    runner: dbt_kickoff.PackageRunner, fake: FakeDbt, project: Path
) -> None:
    runner.build(changed_only=True)  # from the first changed-only call on, full builds measure the sources
    runner.build()
    model = project / "models" / "orders_incremental.sql"
    model.write_text(model.read_text() + "\n-- a comment changes the checksum\n")
    before = len(fake.commands)
    results = runner.build(changed_only=True)
    assert fake.command_names[before:] == ["parse", "ls", "build"]
    assert fake.commands[before + 1].option("--select") == ["state:modified+"]
    assert reasons(results) == {"orders_incremental": "code changed"}


def test_rows_loaded_into_the_source_rebuild_what_reads_it(runner: dbt_kickoff.PackageRunner, fake: FakeDbt,
                                                            warehouse: Path) -> None:
    runner.build(changed_only=True)  # from the first changed-only call on, full builds measure the sources
    runner.build()
    with duckdb.connect(str(warehouse)) as con:
        con.execute("insert into raw_data.orders values (61, 'DE', 99.0, date '2026-11-30')")
    results = runner.build(changed_only=True)
    assert fake.commands[-1].option("--select") == ["source:raw.orders+"]
    built = reasons(results)
    assert set(built) == {*MODELS, *TESTS} and set(built.values()) == {"source raw.orders fresher"}
