"""dbt's per-node log lines read back (console and debug shapes, colour codes, hooks, freshness), matched to
manifest nodes and run_results entries by key."""

from __future__ import annotations

import pytest

from dbt_kickoff.cloud.loglines import done_total, parse_line
from dbt_kickoff.cloud.node_index import NodeIndex

MANIFEST = {
    "nodes": {
        "model.shop.orders": {"resource_type": "model", "name": "orders", "alias": "fct_orders", "schema": "prod"},
        "seed.shop.raw_orders": {"resource_type": "seed", "name": "raw_orders", "schema": "raw"},
        "snapshot.shop.orders_snap": {"resource_type": "snapshot", "name": "orders_snap", "schema": "snaps"},
        "test.shop.not_null_orders_id.4f1": {"resource_type": "test", "name": "not_null_orders_id", "schema": "prod"},
    },
    "sources": {"source.shop.raw.orders": {"source_name": "raw", "name": "orders"}},
}

LINES = [
    # (line as dbt prints it, index, total, status, unique id through the manifest, seconds, what dbt said)
    ("10:42:16  1 of 6 START sql table model prod.fct_orders ..................... [RUN]",
     1, 6, "started", "model.shop.orders", None, "RUN"),
    ("10:42:17  1 of 6 OK created sql table model prod.fct_orders ................ [SELECT 3 in 0.25s]",
     1, 6, "success", "model.shop.orders", 0.25, "SELECT 3"),
    ("\x1b[0m10:42:16.179903 [info ] [Thread-2 (]: 2 of 6 ERROR creating sql incremental model prod.fct_orders "
     "... [\x1b[31mERROR\x1b[0m in 1.02s]", 2, 6, "error", "model.shop.orders", 1.02, "ERROR"),
    ("10:42:17  3 of 6 OK loaded seed file raw.raw_orders ......................... [INSERT 12 in 0.40s]",
     3, 6, "success", "seed.shop.raw_orders", 0.40, "INSERT 12"),
    ("10:42:17  4 of 6 OK snapshotted snaps.orders_snap ........................... [success in 0.12s]",
     4, 6, "success", "snapshot.shop.orders_snap", 0.12, "success"),
    ("10:42:18  5 of 6 WARN 2 not_null_orders_id .................................. [WARN 2 in 0.03s]",
     5, 6, "warn", "test.shop.not_null_orders_id.4f1", 0.03, "WARN 2"),
    ("10:42:18  5 of 6 FAIL 1 not_null_orders_id .................................. [FAIL 1 in 0.03s]",
     5, 6, "fail", "test.shop.not_null_orders_id.4f1", 0.03, "FAIL 1"),
    ("10:42:18  5 of 6 PASS not_null_orders_id .................................... [PASS in 0.03s]",
     5, 6, "pass", "test.shop.not_null_orders_id.4f1", 0.03, "PASS"),
    ("10:42:18  6 of 6 SKIP relation prod.fct_orders ............................. [SKIP]",
     6, 6, "skipped", "model.shop.orders", None, "SKIP"),
    ("10:42:18  6 of 6 SKIP test not_null_orders_id ............................... [SKIP]",
     6, 6, "skipped", "test.shop.not_null_orders_id.4f1", None, "SKIP"),
    ("10:42:19  1 of 1 WARN freshness of raw.orders ............................... [WARN in 0.20s]",
     1, 1, "warn", "source.shop.raw.orders", 0.20, "WARN"),
    ("10:42:19  1 of 1 ERROR STALE freshness of raw.orders ........................ [ERROR STALE in 0.20s]",
     1, 1, "error", "source.shop.raw.orders", 0.20, "ERROR STALE"),
]


@pytest.mark.parametrize(("line", "index", "total", "status", "unique_id", "seconds", "reported"), LINES)
def test_dbt_node_lines_are_read_and_mapped_through_the_manifest(
    line: str, index: int, total: int, status: str, unique_id: str, seconds: float | None, reported: str
) -> None:
    parsed = parse_line(line)
    assert parsed is not None
    assert (parsed.index, parsed.total, parsed.status, parsed.seconds, parsed.reported) == (
        index, total, status, seconds, reported)
    assert parsed.text.startswith(f"{index} of {total} ") and "\x1b" not in parsed.text
    assert NodeIndex(MANIFEST).of_line(parsed).unique_id == unique_id


@pytest.mark.parametrize("line", [
    "10:42:15  Running with dbt=1.9.0",
    "10:42:16  1 of 1 START hook: shop.on-run-start.0 ............................ [RUN]",
    "10:42:16  1 of 1 OK hook: shop.on-run-start.0 ............................... [OK in 0.01s]",
    "10:42:16  Concurrency: 4 threads (target='default')",
    "[debug] [Thread-1 (]: Began running node model.shop.orders",
    "10:42:20  Finished running 6 nodes in 0 hours 0 minutes and 4.00 seconds (4.00s).",
])
def test_other_lines_are_no_node_lines(line: str) -> None:
    assert parse_line(line) is None


def test_without_a_manifest_a_node_is_named_after_what_the_log_says() -> None:
    index = NodeIndex(None)
    model = parse_line("1 of 2 OK created sql view model prod.orders ........ [CREATE VIEW in 0.10s]")
    test = parse_line("2 of 2 PASS unique_orders_id ......................... [PASS in 0.10s]")
    assert model is not None and test is not None
    assert index.of_line(model).unique_id == "model:prod.orders"
    assert (index.of_line(test).unique_id, index.of_line(test).resource_type) == ("test:unique_orders_id", "test")


def test_a_results_entry_has_the_keys_its_log_line_had() -> None:
    index = NodeIndex(MANIFEST)
    line = parse_line("1 of 1 OK created sql table model prod.fct_orders ...... [SELECT 3 in 0.25s]")
    assert line is not None
    entry = {"unique_id": "model.shop.orders", "relation_name": '"db"."prod"."fct_orders"', "status": "success"}
    assert line.key in index.keys_of_result(entry)
    assert line.key in NodeIndex(None).keys_of_result(entry)  # its relation name says it without a manifest


def test_the_closing_line_tells_the_node_count() -> None:
    assert done_total("10:42:20  Done. PASS=5 WARN=1 ERROR=0 SKIP=0 NO-OP=0 TOTAL=6") == 6
    assert done_total("10:42:20  Completed successfully") is None
