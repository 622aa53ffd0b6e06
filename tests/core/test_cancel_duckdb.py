"""runner.cancel(), cancel_on_signals() and destinations resolved per command, on a real DuckDB file."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import duckdb
import pytest

import dbt_kickoff
from dbt_kickoff.engines import DbtEvent
from tests.slow_sql import slow_duckdb_model

RAW = {"source_dataset_name": "raw_data"}
SLOW = slow_duckdb_model()


def _when_started(name: str, action: object) -> object:
    """An on_event handler that calls ``action`` (once) from another thread when node ``name`` starts."""
    fired = threading.Event()

    def handler(event: DbtEvent) -> None:
        if event.name == "NodeStart" and event.node and event.node.name == name and not fired.is_set():
            fired.set()
            threading.Timer(0.5, action).start()  # type: ignore[arg-type]

    return handler


def test_cancel_from_another_thread_keeps_finished_results_and_frees_the_file(
    shop_duckdb: Path, shop_project: Path
) -> None:
    (shop_project / "models" / "slow.sql").write_text(slow_duckdb_model(depends_on="stg_orders"))
    holder: list[dbt_kickoff.PackageRunner] = []
    handler = _when_started("slow", lambda: holder[0].cancel("enough"))
    with dbt_kickoff.package(f"duckdb:///{shop_duckdb}", shop_project, dataset_name="a", threads=1,
                             on_event=handler) as runner:  # type: ignore[arg-type]
        holder.append(runner)
        with pytest.raises(dbt_kickoff.DbtCancelled) as info:
            runner.run(["--select", "stg_orders", "slow"], additional_vars=RAW)
        assert info.value.reason == "enough"
        assert [(r.model_name, r.status) for r in info.value.results] == [("stg_orders", "success")]
        assert info.value.running == ["slow"]
        # the worker let go of the DuckDB file: another process (here: this one) can write to it
        with duckdb.connect(str(shop_duckdb)) as con:
            con.execute("create table a.written_after_cancel as select 1 as x")
        # and the runner works again
        assert {r.model_name for r in runner.run(["--select", "stg_orders"], additional_vars=RAW)} == {"stg_orders"}


def test_a_cancel_between_steps_stops_run_all_before_the_next_step(shop_duckdb: Path, shop_project: Path) -> None:
    holder: list[dbt_kickoff.PackageRunner] = []

    def cancel_on_seed(event: DbtEvent) -> None:
        if event.finished and event.node and event.node.resource_type == "seed":
            holder[0].cancel("stop after the seeds")

    with dbt_kickoff.package(f"duckdb:///{shop_duckdb}", shop_project, dataset_name="b",
                             on_event=cancel_on_seed) as runner:
        holder.append(runner)
        with pytest.raises(dbt_kickoff.DbtCancelled) as info:
            runner.run_all(additional_vars=RAW)
    steps = [step.command for step in runner.last_report.steps]
    assert "run" not in steps and "test" not in steps
    assert {r.resource_type for r in info.value.results} <= {"seed"}


def test_cancel_on_signals_turns_sigterm_into_a_cancel(shop_duckdb: Path, shop_project: Path) -> None:
    (shop_project / "models" / "slow.sql").write_text(SLOW)
    before = signal.getsignal(signal.SIGTERM)
    handler = _when_started("slow", lambda: os.kill(os.getpid(), signal.SIGTERM))
    with dbt_kickoff.package(f"duckdb:///{shop_duckdb}", shop_project, dataset_name="c",
                             on_event=handler) as runner:  # type: ignore[arg-type]
        with dbt_kickoff.cancel_on_signals(runner) as received, pytest.raises(dbt_kickoff.DbtCancelled) as info:
            runner.run(["--select", "slow"])
    assert received.signum == signal.SIGTERM and received.exit_status == 143
    assert info.value.reason == "received SIGTERM"
    assert signal.getsignal(signal.SIGTERM) is before


def test_cancel_on_signals_needs_the_main_thread(shop_project: Path) -> None:
    errors: list[BaseException] = []

    def enter() -> None:
        try:
            with dbt_kickoff.cancel_on_signals():
                pass
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=enter)
    thread.start()
    thread.join()
    assert isinstance(errors[0], dbt_kickoff.ConfigurationError) and "main thread" in str(errors[0])


def test_a_destination_callable_is_resolved_for_every_command(shop_duckdb: Path, shop_project: Path,
                                                              tmp_path: Path) -> None:
    calls: list[float] = []

    def destination() -> dict[str, object]:
        calls.append(time.monotonic())
        return {"type": "duckdb", "path": str(shop_duckdb), "schema": f"calls_{min(len(calls), 3)}"}

    with dbt_kickoff.package(destination, shop_project) as runner:
        runner.seed()
        runner.run(["--select", "stg_orders"], additional_vars=RAW)
        runner.run(["--select", "stg_orders"], additional_vars=RAW)
    assert len(calls) == 4  # once when the runner is made, then once per dbt command
    with duckdb.connect(str(shop_duckdb)) as con:
        schemas = {row[0] for row in con.execute("select table_schema from information_schema.tables").fetchall()}
    assert {"calls_2", "calls_3"} <= schemas  # each command used the destination it was given


def test_a_worker_killed_mid_run_leaves_the_finished_results_and_the_runner_recovers(
    shop_duckdb: Path, shop_project: Path
) -> None:
    (shop_project / "models" / "slow.sql").write_text(slow_duckdb_model(depends_on="stg_orders"))
    holder: list[dbt_kickoff.PackageRunner] = []

    def kill_worker() -> None:
        engine = holder[0].session.engine
        assert engine is not None and getattr(engine, "pid", None)
        os.kill(engine.pid, signal.SIGKILL)  # type: ignore[attr-defined] # the OOM killer, say

    handler = _when_started("slow", kill_worker)
    with dbt_kickoff.package(f"duckdb:///{shop_duckdb}", shop_project, dataset_name="d", threads=1,
                             on_event=handler) as runner:  # type: ignore[arg-type]
        holder.append(runner)
        with pytest.raises(dbt_kickoff.DBTProcessingError) as info:
            runner.run(["--select", "stg_orders", "slow"], additional_vars=RAW)
        assert "exited with code -9" in str(info.value)
        assert [(r.model_name, r.status) for r in info.value.run_results] == [("stg_orders", "success")]
        assert [r.model_name for r in runner.run(["--select", "stg_orders"], additional_vars=RAW)] == ["stg_orders"]
