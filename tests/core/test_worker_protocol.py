"""The warm worker's protocol and stop paths, fast: the worker script runs a stand-in ``dbt`` (tests/stub_dbt)
that emits dbt-shaped events, sleeps, ignores SIGINT or dies on request."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from dbt_kickoff.engines import CancelToken, DbtEvent, Invocation, WorkerEngine
from dbt_kickoff.processes import child_environment

STUB = Path(__file__).resolve().parents[1] / "stub_dbt"
SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "marker.txt"


@pytest.fixture
def engine(tmp_path: Path, marker: Path) -> Iterator[WorkerEngine]:
    env = child_environment({"PYTHONPATH": str(STUB), "STUB_MARKER": str(marker)})
    worker = WorkerEngine(Path(sys.executable), cwd=tmp_path, env=env, cancel_grace=3.0, description="stub dbt")
    yield worker
    worker.close()


def _events() -> tuple[list[DbtEvent], Callable[[DbtEvent], None]]:
    seen: list[DbtEvent] = []
    return seen, seen.append


def _soon(condition: Callable[[], bool], within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


class SlowNode:
    """An event handler that runs ``action`` in another thread once the stub's slow node has started."""

    def __init__(self, action: Callable[[], None]) -> None:
        self.started = threading.Event()
        self.thread = threading.Thread(target=self._act, args=(action,), daemon=True)
        self.thread.start()

    def _act(self, action: Callable[[], None]) -> None:
        if self.started.wait(60):
            time.sleep(0.2)
            action()

    def __call__(self, event: DbtEvent) -> None:
        if event.name == "NodeStart" and event.node and event.node.name == "node_slow":
            self.started.set()


def test_a_command_streams_events_and_succeeds(engine: WorkerEngine) -> None:
    seen, handler = _events()
    outcome = engine.execute(Invocation(args=["nodes", "3", "0"]), handler)
    assert outcome.success and outcome.cancelled is None
    assert [n.name for n in outcome.finished_nodes] == ["node_0", "node_1", "node_2"]
    assert [e.name for e in seen if e.node] == ["NodeStart", "NodeFinished"] * 3
    assert engine.dbt_version == "1.99.0+stub"


def test_cancel_from_another_thread_interrupts_dbt_first(engine: WorkerEngine, marker: Path) -> None:
    outcome = engine.execute(Invocation(args=["sleep", "600"]), SlowNode(lambda: engine.cancel("stop requested")))
    assert outcome.cancelled == "stop requested" and not outcome.success
    assert marker.read_text() == "interrupted\n"  # dbt got SIGINT (its queries are cancelled), not a kill
    assert [n.name for n in outcome.finished_nodes] == ["node_first"]
    assert [n.name for n in outcome.running_nodes] == ["node_slow"]
    assert not engine.alive  # restarted clean for the next command
    assert engine.execute(Invocation(args=["nodes", "1", "0"]), lambda e: None).success


def test_a_token_cancelled_before_the_command_starts_stops_it_at_once(engine: WorkerEngine, marker: Path) -> None:
    token = CancelToken()
    token.cancel("cancelled early")
    outcome = engine.execute(Invocation(args=["sleep", "600"], cancel_token=token), lambda e: None)
    assert outcome.cancelled == "cancelled early"
    assert not marker.exists()


def test_timeout_cancels_with_sigint(engine: WorkerEngine, marker: Path) -> None:
    engine.start()
    outcome = engine.execute(Invocation(args=["sleep", "600"], timeout=1.5), lambda e: None)
    assert outcome.cancelled == "timed out after 1.5s"
    assert marker.read_text() == "interrupted\n"


def test_a_dbt_that_ignores_sigint_is_killed_after_the_grace_period(engine: WorkerEngine, marker: Path) -> None:
    engine.cancel_grace = 0.5
    outcome = engine.execute(Invocation(args=["stubborn"]), SlowNode(engine.cancel))
    assert outcome.cancelled == "cancelled" and "killed" in (outcome.error or "")
    assert marker.read_text() == "interrupted\n"
    assert not engine.alive


def test_cancelling_twice_kills_at_once(engine: WorkerEngine, marker: Path) -> None:
    engine.cancel_grace = 600

    def twice() -> None:
        engine.cancel("first")
        time.sleep(0.3)
        engine.cancel("second")

    outcome = engine.execute(Invocation(args=["stubborn"]), SlowNode(twice))
    assert outcome.cancelled == "first" and "killed" in (outcome.error or "")


def test_a_crash_keeps_the_finished_nodes_and_the_next_command_works(engine: WorkerEngine) -> None:
    outcome = engine.execute(Invocation(args=["crash"]), lambda e: None)
    assert outcome.crashed and not outcome.success
    assert "exited with code 9" in (outcome.error or "")
    assert [n.name for n in outcome.finished_nodes] == ["node_first"]
    assert engine.execute(Invocation(args=["nodes", "1", "0"]), lambda e: None).success


@pytest.mark.parametrize("exception", [SystemExit, KeyboardInterrupt, RuntimeError])
def test_an_exception_in_the_waiting_thread_interrupts_dbt_then_propagates(
    engine: WorkerEngine, marker: Path, exception: type[BaseException]
) -> None:
    waiting = threading.get_ident()

    def inject() -> None:  # what an orchestrator's interrupt does to the thread that waits
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(waiting), ctypes.py_object(exception))

    with pytest.raises(exception):
        engine.execute(Invocation(args=["sleep", "600"]), SlowNode(inject))
    assert marker.read_text() == "interrupted\n"
    assert not engine.alive


def test_close_from_another_thread_cancels_first(engine: WorkerEngine, marker: Path) -> None:
    pid: list[int] = []

    def close() -> None:
        pid.append(engine.pid or 0)
        engine.close()

    closer = SlowNode(close)
    outcome = engine.execute(Invocation(args=["sleep", "600"]), closer)
    closer.thread.join(timeout=30)
    assert outcome.cancelled == "the runner was closed"
    assert marker.read_text() == "interrupted\n"
    assert not psutil.pid_exists(pid[0]) or psutil.Process(pid[0]).status() == psutil.STATUS_ZOMBIE


HOST = textwrap.dedent("""
    import sys
    from pathlib import Path
    from dbt_kickoff.engines import Invocation, WorkerEngine
    from dbt_kickoff.processes import child_environment
    engine = WorkerEngine(Path(sys.executable), cwd=Path.cwd(), env=child_environment({
        "PYTHONPATH": sys.argv[1], "STUB_MARKER": sys.argv[2]}))
    engine.start()
    print(engine.pid, flush=True)

    def started(event):
        if event.name == "NodeStart" and event.node and event.node.name == "node_slow":
            print("slow node started", flush=True)

    engine.execute(Invocation(args=[sys.argv[3], "600"]), started)
""")


@pytest.mark.parametrize(("command", "stop"), [("sleep", signal.SIGKILL), ("sleep", signal.SIGTERM),
                                              ("stubborn", signal.SIGKILL)])
def test_the_worker_stops_by_itself_when_its_host_dies(tmp_path: Path, marker: Path, command: str,
                                                       stop: signal.Signals) -> None:
    host = subprocess.Popen(
        [sys.executable, "-c", HOST, str(STUB), str(marker), command], cwd=tmp_path, stdout=subprocess.PIPE,
        text=True, env=child_environment({"PYTHONPATH": str(SRC)}), start_new_session=True,
    )
    assert host.stdout is not None
    worker = psutil.Process(int(host.stdout.readline()))
    assert host.stdout.readline() == "slow node started\n"  # a fixed wait is not enough on a busy machine
    time.sleep(0.2)  # and sleeping in its loop (where SIGINT is handled)
    os.killpg(host.pid, stop)  # the host's process group, as Airflow stops a task; the worker has its own
    host.wait(timeout=30)
    # the file exists a moment before its line is written: wait for the line
    assert _soon(lambda: marker.exists() and marker.read_text().endswith("\n")), "the command was not interrupted"
    assert marker.read_text() == "interrupted\n"
    # the stubborn command ignores SIGINT: the worker ends itself after its grace period
    _, alive = psutil.wait_procs([worker], timeout=15)
    assert not alive, f"worker {worker.pid} still running after its host died"


def test_the_worker_ends_when_its_protocol_pipe_breaks(tmp_path: Path, marker: Path) -> None:
    env = child_environment({"PYTHONPATH": str(STUB), "STUB_MARKER": str(marker)})
    script = Path(__file__).resolve().parents[2] / "src" / "dbt_kickoff" / "engines" / "worker_script.py"
    worker = subprocess.Popen([sys.executable, str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, env=env, text=True)
    assert worker.stdin is not None and worker.stdout is not None
    assert '"ready"' in worker.stdout.readline()
    worker.stdin.write('{"op": "invoke", "id": 1, "args": ["nodes", "50", "0.05"]}\n')
    worker.stdin.flush()
    worker.stdout.readline()
    worker.stdout.close()  # the reader goes away while events keep coming
    assert worker.wait(timeout=15) in (0, 1)
