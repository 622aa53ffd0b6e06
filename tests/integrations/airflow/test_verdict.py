"""What a node task makes of the board (``decide``), and the board itself (local and through fsspec): a node is
never reported successful unless the producer's current build built it; a producer up for retry is waited for;
a node the producer never reached fails on the first try and is rebuilt on a later one."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from dbt_kickoff.integrations.airflow.board import (
    FAILED,
    RUNNING,
    STALE_SECONDS,
    STOPPED,
    SUCCESS,
    Board,
    NodeEntry,
    ProducerState,
    Snapshot,
    board_folder,
)
from dbt_kickoff.integrations.airflow.verdict import DONE, FAIL, REBUILD, WAIT, decide

A, B = "model.shop.a", "model.shop.b"
NOW = 1_000_000.0


def producer(state: str = RUNNING, *, attempt: int = 1, final: bool = True, generation: int = 1,
             heartbeat: float = NOW) -> ProducerState:
    return ProducerState(generation=generation, attempt=attempt, state=state, final=final, heartbeat=heartbeat)


def entry(unique_id: str, status: str, *, generation: int = 1, attempt: int = 1) -> NodeEntry:
    return NodeEntry(unique_id=unique_id, name=unique_id.rsplit(".", 1)[-1], resource_type="model", status=status,
                     time=1.5, rows=3, message="boom" if status == "error" else None, generation=generation,
                     attempt=attempt)


def verdict(state: ProducerState | None, entries: list[NodeEntry], *, ids: tuple[str, ...] = (A,),
            airflow: str | None = None, try_number: int = 1) -> str:
    snapshot = Snapshot(state, {e.unique_id: e for e in entries})
    return decide(snapshot, ids, airflow_state=airflow, try_number=try_number, now=NOW).action


def test_a_built_node_succeeds_at_once_even_while_the_producer_runs() -> None:
    assert verdict(producer(), [entry(A, "success")], airflow="running") == DONE
    assert verdict(producer(), [entry(A, "success"), entry(B, "pass")], ids=(A, B), airflow="running") == DONE
    assert verdict(producer(), [entry(A, "success")], ids=(A, B), airflow="running") == WAIT  # B is not built yet


def test_a_node_of_an_older_build_does_not_count() -> None:
    assert verdict(producer(generation=2), [entry(A, "success", generation=1)], airflow="running") == WAIT
    # the producer is queued again after a build that succeeded (a clear): its old results wait for the new build
    assert verdict(producer(SUCCESS), [entry(A, "success")], airflow="queued") == WAIT


def test_the_producer_up_for_retry_is_waited_for() -> None:
    failed = [entry(A, "error")]
    assert verdict(producer(FAILED, final=False), failed, airflow="up_for_retry") == WAIT
    assert verdict(producer(FAILED, final=False), [], airflow="up_for_retry") == WAIT
    assert verdict(producer(RUNNING, final=False), failed, airflow="running") == WAIT  # it may retry this node
    # what an earlier attempt built stays built while the next one runs
    assert verdict(producer(FAILED, final=False), [entry(A, "success")], airflow="up_for_retry") == DONE


def test_a_failure_in_the_last_attempt_fails_at_once() -> None:
    assert verdict(producer(RUNNING, final=True), [entry(A, "error")], airflow="running") == FAIL
    assert verdict(producer(RUNNING, final=True, attempt=2), [entry(A, "error", attempt=1)],
                   airflow="running") == WAIT  # the last attempt has not redone it yet


def test_after_the_producer_a_failure_fails_the_first_try_and_is_rebuilt_on_a_retry() -> None:
    failed = [entry(A, "error")]
    assert verdict(producer(FAILED), failed, airflow="failed") == FAIL
    assert verdict(producer(FAILED), failed, airflow="failed", try_number=2) == REBUILD


def test_a_skipped_node_whose_task_runs_is_rebuilt() -> None:
    assert verdict(producer(FAILED), [entry(A, "skipped")], airflow="failed") == REBUILD


@pytest.mark.parametrize("airflow", ["failed", "upstream_failed", "skipped", "removed"])
def test_a_node_the_producer_never_reached_fails_never_succeeds(airflow: str) -> None:
    assert verdict(producer(STOPPED), [], airflow=airflow) == FAIL
    assert verdict(None, [], airflow=airflow) == FAIL  # the producer never started
    assert verdict(producer(STOPPED), [], airflow=airflow, try_number=2) == REBUILD


def test_a_producer_killed_without_a_word_is_seen_by_its_heartbeat_or_by_airflow() -> None:
    killed = producer(RUNNING, heartbeat=NOW - STALE_SECONDS - 1)
    assert verdict(killed, [], airflow=None) == FAIL  # Airflow cannot be asked: the heartbeat tells
    assert verdict(producer(RUNNING), [], airflow=None) == WAIT
    assert verdict(producer(RUNNING), [], airflow="failed") == FAIL  # Airflow says it died


def test_a_producer_that_succeeded_without_the_node_fails_it_saying_so() -> None:
    snapshot = Snapshot(producer(SUCCESS), {})
    result = decide(snapshot, (A,), airflow_state="success", try_number=1, now=NOW)
    assert result.action == FAIL and "selection left it out" in result.message


def test_a_failure_message_carries_dbts_words() -> None:
    result = decide(Snapshot(producer(FAILED), {A: entry(A, "error")}), (A,), airflow_state="failed",
                    try_number=1, now=NOW)
    assert result.message == "a (model): error in 1.50s, 3 rows: boom"


def test_the_board_round_trips_locally_and_through_fsspec(tmp_path: Path) -> None:
    for root in (str(tmp_path / "boards"), "memory://boards"):
        board = Board(board_folder(root, "dag", "manual__2024-03-01T00:00:00+00:00", "group.sub"))
        assert board.producer() is None and board.snapshot([A]).entries == {}
        state = producer(RUNNING)
        board.write_producer(state)
        board.write_entry(entry(A, "success"))
        board.write_entry(replace(entry(A, "error"), time=2.0))  # the newest result replaces the old one
        snapshot = board.snapshot([A, B])
        assert snapshot.producer == state
        assert set(snapshot.entries) == {A} and snapshot.entries[A].status == "error"
    assert (tmp_path / "boards" / "dag" / "manual__2024-03-01T00%3A00%3A00%2B00%3A00" / "group.sub" /
            "nodes" / f"{A}.json").is_file()


def test_a_half_written_file_reads_as_nothing(tmp_path: Path) -> None:
    board = Board(str(tmp_path))
    (tmp_path / "producer.json").write_text('{"generation": 1, "att')
    assert board.producer() is None
