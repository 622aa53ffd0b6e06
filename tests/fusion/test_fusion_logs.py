"""dbt v2's JSON log lines and errors, read from recordings of real runs (dbt-fusion 2.0.0-preview.196 on
PostgreSQL, ``--log-format json``, ``RUST_BACKTRACE=1``), so this tier needs neither the binary nor a server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dbt_kickoff.engines import fusion
from dbt_kickoff.engines.base import DbtEvent, event_from_wire
from dbt_kickoff.engines.subprocess_engine import SUCCESS_EXIT_CODES
from dbt_kickoff.environments.drivers import duckdb_driver_package, duckdb_library_name

LOGS = Path(__file__).with_name("recorded_logs")


def _events(name: str) -> list[DbtEvent]:
    lines = (LOGS / name).read_text(encoding="utf-8").splitlines()
    return [event_from_wire(fusion.wire_from_log(json.loads(line))) for line in lines]


def _errors(name: str) -> list[str]:
    return [event.message for event in _events(name) if event.level == "error"]


def test_node_progress_of_a_failed_build() -> None:
    events = _events("failed_build.jsonl")
    finished = {e.node.unique_id: e.node for e in events if e.finished and e.node}
    assert {uid: node.status for uid, node in finished.items()} == {
        "model.small.a": "success",
        "model.small.b": "success",
        "model.small.bad": "error",
        "test.small.unique_b_id.fd91545187": "pass",
        "test.small.not_null_b_id.37be81e63b": "pass",
        "test.small.accepted_values_b_id__2.3e56917b8a": "fail",
    }
    bad = finished["model.small.bad"]
    assert (bad.name, bad.resource_type) == ("bad", "model")
    assert bad.execution_time and bad.execution_time > 0
    started = [e.node.unique_id for e in events if e.name == "NodeStart" and e.node]
    assert sorted(started) == sorted(finished)
    assert len({e.invocation_id for e in events}) == 1


def test_error_messages_keep_dbts_words_and_drop_the_backtrace() -> None:
    (message,) = _errors("failed_build.jsonl")
    assert message.startswith("[error] [DbSyntaxInvalid (dbt1302)]: Database Error in model bad")
    assert 'relation "does_not_exist_table" does not exist' in message
    assert "<unknown>" not in message and "pthread_create" not in message
    error = fusion.parse_error(message)
    assert error is not None
    assert (error.code, error.name, error.number) == ("dbt1302", "DbSyntaxInvalid", 1302)


def test_node_failures_are_not_prerequisite_errors() -> None:
    errors = _errors("failed_build.jsonl")
    assert fusion.prerequisites_error(errors, nodes_failed=True) is None
    assert fusion.prerequisites_error(errors, nodes_failed=False) is None  # a database error, not the project
    assert fusion.prerequisites_error(["Compilation Error", ""], nodes_failed=False) is None  # not v2's format


def test_v1_only_project_names_each_code_file_and_line_and_the_autofix() -> None:
    error = fusion.prerequisites_error(_errors("v1_only_project.jsonl"), nodes_failed=False,
                                       project_dir=Path("/pkg"))
    assert error is not None
    text = str(error)
    assert "dbt1013 SerializationError at dbt_project.yml:6: Invalid model definition `small.materialized`" in text
    assert "dbt1159 DbtYamlValidationError at models/schema.yml:8: Deprecated test arguments" in text
    assert "dbt-kickoff v2 check /pkg" in text and "dbt-kickoff v2 fix /pkg --in-place" in text
    assert "dbt-autofix deprecations --path /pkg" in text
    assert 'dbt_version="1.11.*"' in text


def test_experimental_adapter_says_how_to_opt_in() -> None:
    error = fusion.prerequisites_error(_errors("experimental_adapter.jsonl"), nodes_failed=False)
    assert error is not None
    assert "'postgres' adapter is not yet supported" in str(error)
    assert "set DBT_ALLOW_EXPERIMENTAL_ADAPTERS=true" in str(error)


def test_missing_driver_wins_even_when_every_node_failed() -> None:
    message = (
        "[error] [DbDriverFailed (dbt1308)]: Failed to create schema 's' in database 'postgres' in remote for "
        "model.p.a: HTTP error: io: failed to lookup address information: Name or service not known\n"
        "   0: <unknown>\n  13: start_thread\n             at ./nptl/pthread_create.c:442:8"
    )
    error = fusion.prerequisites_error([message], nodes_failed=True)
    assert error is not None and "com.getdbt/adbc" in str(error)
    assert "adbc-driver-postgresql" in str(error) and "ADBC_DRIVER_PATH are not used" in str(error)


def test_missing_duckdb_driver_says_where_to_get_it_and_how_to_point_v2_at_it() -> None:
    errors = _errors("duckdb_missing_driver.jsonl")
    assert any("Failed to load `duckdb` driver from name" in message for message in errors)
    error = fusion.prerequisites_error(errors, nodes_failed=True)
    assert error is not None
    text = str(error)
    assert f"no DuckDB driver ({duckdb_library_name()})" in text
    assert "drivers=<folder>" in text and "ADBC_DRIVER_PATH=<folder>" in text
    assert f"npm pack {duckdb_driver_package()}" in text  # @duckdb/node-bindings-linux-x64 on x86_64 Linux


def test_duckdb_file_written_by_a_newer_duckdb_says_how_to_keep_it_readable() -> None:
    error = fusion.prerequisites_error(_errors("duckdb_file_too_new.jsonl"), nodes_failed=True)
    assert error is not None
    text = str(error)
    assert "storage version 69; this driver reads 64-68" in text
    assert "'storage_compatibility_version': 'v1.5.0'" in text


@pytest.mark.parametrize(
    ("code", "success"), [(0, True), (2, True), (1, False), (101, False), (-2, False)]
)
def test_exit_codes(code: int, success: bool) -> None:
    assert (code in SUCCESS_EXIT_CODES["v2"]) is success
    assert (code in fusion.SUCCESS_EXIT_CODES) is success


def test_v1_flags_v2_no_longer_takes_are_dropped() -> None:
    args = ["build", "--project-dir", "/p", "--no-use-colors", "--threads", "4"]
    assert fusion.command_line(args) == ["build", "--project-dir", "/p", "--threads", "4"]
