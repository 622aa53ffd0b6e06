"""The producer and a node task's rebuild of the Airflow task group, on the fake engine: every node on the
board as dbt finishes it; a later attempt of a failed build continues it with dbt retry; a rebuild of chosen
nodes is a link of the record's retry chain (its merged record has every node's latest result); the build lock
lets one build at a time through."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import dbt_kickoff
from dbt_kickoff.engines import EventHandler
from dbt_kickoff.integrations.airflow.board import FINISHED, STOPPED, SUCCESS, Board
from dbt_kickoff.integrations.airflow.producer import (
    BuildSpec,
    RenderedNode,
    build_arguments,
    build_lock,
    produce,
    rebuild,
)
from dbt_kickoff.records import open_record
from tests.fake_calls.conftest import MODELS, TESTS
from tests.fake_engine import FakeDbt

NODES = {"seed.shop.countries": "countries", "model.shop.stg_orders": "stg_orders",
         "model.shop.orders_incremental": "orders_incremental", "model.shop.revenue_by_country": "revenue_by_country"}
RENDERED = [RenderedNode(uid, name, uid.split(".")[0]) for uid, name in NODES.items()]


@contextlib.contextmanager
def no_lock(runner: dbt_kickoff.PackageRunner) -> Iterator[None]:
    yield


@pytest.fixture
def factory(make_runner: Callable[..., dbt_kickoff.PackageRunner],
            ) -> Callable[[EventHandler], dbt_kickoff.PackageRunner]:
    return lambda on_event: make_runner(on_event=on_event)


def statuses(board: Board, ids: list[str]) -> dict[str, str]:
    snapshot = board.snapshot(ids)
    return {NODES.get(uid, uid): entry.status for uid, entry in snapshot.entries.items()}


def test_the_producer_puts_every_node_on_the_board(tmp_path: Path, factory: Callable[..., dbt_kickoff.PackageRunner],
                                                   fake: FakeDbt) -> None:
    board = Board(str(tmp_path / "board"))
    results = produce(board, make_runner=factory, spec=BuildSpec(), rendered=RENDERED, attempt=1, final=True,
                      lock=no_lock)
    assert {r.model_name for r in results} == set(NODES.values()) | TESTS
    state = board.producer()
    assert state is not None and state.state == SUCCESS and state.generation == 1 and state.record
    assert statuses(board, list(NODES)) == {**dict.fromkeys(MODELS, "success"), "countries": "success"}
    seed = board.entry("seed.shop.countries")
    assert seed is not None and seed.rows == 3 and seed.by == "producer"  # dbt's final word: INSERT 3
    assert fake.command_names == ["build"]


def test_node_failures_finish_the_build_and_a_later_attempt_continues_it_with_dbt_retry(
        tmp_path: Path, factory: Callable[..., dbt_kickoff.PackageRunner], fake: FakeDbt) -> None:
    board = Board(str(tmp_path / "board"))
    fake.fail("stg_orders")
    results = produce(board, make_runner=factory, spec=BuildSpec(), rendered=RENDERED, attempt=1, final=False,
                      lock=no_lock)  # dbt built what it could: the failed node's task fails, not the producer
    assert {r.model_name: r.status for r in results}["stg_orders"] == "error"
    first = board.producer()
    assert first is not None and first.state == FINISHED and first.final and first.record
    assert first.message == "1 node(s) failed: stg_orders"
    assert statuses(board, list(NODES)) == {"countries": "success", "stg_orders": "error",
                                            "orders_incremental": "skipped", "revenue_by_country": "skipped"}
    fake.heal("stg_orders")  # the producer is cleared: its next attempt finishes the same build
    produce(board, make_runner=factory, spec=BuildSpec(), rendered=RENDERED, attempt=2, final=True, lock=no_lock)
    assert fake.command_names == ["build", "retry"]  # the seed is not built again
    second = board.producer()
    assert second is not None and (second.state, second.generation, second.attempt) == (SUCCESS, 1, 2)
    assert set(statuses(board, list(NODES)).values()) == {"success"}
    assert board.entry("seed.shop.countries").attempt == 1  # type: ignore[union-attr]
    assert board.entry("model.shop.stg_orders").attempt == 2  # type: ignore[union-attr]


def test_a_stopped_build_raises_and_says_so_on_the_board(
        tmp_path: Path, factory: Callable[..., dbt_kickoff.PackageRunner], fake: FakeDbt) -> None:
    board = Board(str(tmp_path / "board"))
    fake.block("revenue_by_country")
    made: list[dbt_kickoff.PackageRunner] = []

    def keep(on_event: EventHandler) -> dbt_kickoff.PackageRunner:
        made.append(factory(on_event))
        return made[-1]

    def stop_when_blocked() -> None:
        while not (board.entry("model.shop.stg_orders") and made):
            time.sleep(0.05)
        made[0].cancel("the task was stopped")

    stopper = threading.Thread(target=stop_when_blocked)
    stopper.start()
    with pytest.raises(dbt_kickoff.DbtCancelled):
        produce(board, make_runner=keep, spec=BuildSpec(), rendered=RENDERED, attempt=1, final=True, lock=no_lock)
    stopper.join()
    state = board.producer()
    assert state is not None and state.state == STOPPED and state.message
    assert board.entry("model.shop.revenue_by_country") is None  # never reported: its task must not succeed


def test_a_build_after_a_good_one_starts_a_new_generation(
        tmp_path: Path, factory: Callable[..., dbt_kickoff.PackageRunner]) -> None:
    board = Board(str(tmp_path / "board"))
    produce(board, make_runner=factory, spec=BuildSpec(), rendered=RENDERED, attempt=1, final=True, lock=no_lock)
    produce(board, make_runner=factory, spec=BuildSpec(), rendered=RENDERED, attempt=2, final=True, lock=no_lock)
    state = board.producer()
    assert state is not None and state.generation == 2
    assert {board.entry(uid).generation for uid in NODES} == {2}  # type: ignore[union-attr]


def test_a_rebuild_is_a_link_of_the_retry_chain(tmp_path: Path, factory: Callable[..., dbt_kickoff.PackageRunner],
                                                fake: FakeDbt) -> None:
    board = Board(str(tmp_path / "board"))
    fake.fail("stg_orders")
    produce(board, make_runner=factory, spec=BuildSpec(), rendered=RENDERED, attempt=1, final=True, lock=no_lock)
    producer_record = board.producer().record  # type: ignore[union-attr]
    fake.heal("stg_orders")
    results = rebuild(board, make_runner=factory, selectors=["fqn:shop.stg_orders,resource_type:model"],
                      by="stg_orders (try 2)", lock=no_lock)
    assert {r.model_name for r in results} == {"stg_orders"}  # only it
    build = fake.commands[-1]
    assert build.name == "build" and build.nodes == ["model.shop.stg_orders"]
    entry = board.entry("model.shop.stg_orders")
    assert entry is not None and entry.status == "success" and entry.by == "stg_orders (try 2)"
    newest = board.producer().record  # type: ignore[union-attr]
    assert newest and newest != producer_record
    record = open_record(newest)
    assert record.data["call"] == "retry" and record.data["retry"]["of"] == producer_record
    merged = {r["model_name"]: r["status"] for r in record.data["retry"]["merged"]}
    assert merged["stg_orders"] == "success" and merged["countries"] == "success"
    assert merged["revenue_by_country"] == "skipped"  # not rebuilt: still as the build left it
    # the next rebuild chains on from this one: its downstream now
    rebuild(board, make_runner=factory, selectors=["orders_incremental", "revenue_by_country"], by="downstream",
            lock=no_lock)
    last = open_record(board.producer().record)  # type: ignore[arg-type, union-attr]
    assert last.data["retry"]["of"] == newest and last.data["retry"]["root"] == producer_record
    assert {r["model_name"]: r["status"] for r in last.data["retry"]["merged"]
            if r["resource_type"] != "test"} == {**dict.fromkeys(MODELS, "success"), "countries": "success"}


def test_the_build_arguments_of_a_selection() -> None:
    assert build_arguments("tag:daily", ["a", "b"], None, "after_each") == ("--select", "tag:daily", "--exclude",
                                                                            "a", "b")
    assert build_arguments(None, None, "nightly", "none") == ("--exclude", "resource_type:test",
                                                              "resource_type:unit_test", "--selector", "nightly")


def test_one_build_at_a_time_holds_the_lock(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("test.lock")
    inside: list[tuple[str, float, float]] = []

    def build(name: str, seconds: float) -> None:
        with build_lock(tmp_path, "shop-key", name, log, poll=0.1):
            started = time.monotonic()
            time.sleep(seconds)
            inside.append((name, started, time.monotonic()))

    with caplog.at_level(logging.INFO, logger="test.lock"):
        first = threading.Thread(target=build, args=("run 1", 0.6))
        first.start()
        time.sleep(0.2)
        build("run 2", 0.0)
        first.join()
    (name_a, _, end_a), (name_b, start_b, _) = inside
    assert (name_a, name_b) == ("run 1", "run 2") and start_b >= end_a
    assert "waiting for run 1 to finish building the same nodes" in caplog.text
