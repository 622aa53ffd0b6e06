"""The work of the producer task and of a node task that rebuilds its nodes, without Airflow: one dbt build
through the runner (one warm dbt process), every node's result written to the board the moment dbt finishes it,
under a lock per package, target and node set, so two DAG runs never build the same nodes at once.

The producer's first attempt builds what the task group renders (``dbt build`` with the group's selection, or
a changed-only build); a later attempt of the same build continues it with :meth:`PackageRunner.retry` on the
record the earlier attempt left (only what failed or was not reached runs again); a later attempt after a build
that succeeded (a clear) builds again, as a new generation. A node task's rebuild runs ``retry(record,
select=...)`` on the newest record of the build, so the retry chain's merged record has every node's latest
result.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from dbt_kickoff.engines import DbtEvent, EventHandler
from dbt_kickoff.errors import DbtCancelled, DBTProcessingError
from dbt_kickoff.integrations.airflow.board import (
    FAILED,
    FINISHED,
    HEARTBEAT_SECONDS,
    RUNNING,
    STOPPED,
    SUCCESS,
    Board,
    NodeEntry,
    ProducerState,
)
from dbt_kickoff.results import NodeResult
from dbt_kickoff.runner import PackageRunner

logger = logging.getLogger("dbt_kickoff.airflow")

RunnerFactory = Callable[[EventHandler], PackageRunner]
"""Makes the runner of a build, with the event handler the board writer listens with."""


@dataclass(frozen=True)
class RenderedNode:
    """A node the task group renders (what the board must end up saying something about)."""

    unique_id: str
    name: str
    resource_type: str


@dataclass(frozen=True)
class BuildSpec:
    """What the producer builds: the dbt arguments of the group's selection, and how."""

    args: tuple[str, ...] = ()
    changed_only: bool = False
    full_refresh: bool = False
    vars: Mapping[str, object] | None = None


def build_arguments(select: str | Sequence[str] | None, exclude: str | Sequence[str] | None,
                    selector: str | None, test_behavior: str) -> tuple[str, ...]:
    """The dbt arguments of the group's selection (``test_behavior="none"`` leaves tests out of the build)."""
    args: list[str] = []
    if select:
        args += ["--select", *([select] if isinstance(select, str) else select)]
    excluded = [*([exclude] if isinstance(exclude, str) else list(exclude or ()))]
    if test_behavior == "none":
        excluded += ["resource_type:test", "resource_type:unit_test"]
    if excluded:
        args += ["--exclude", *excluded]
    if selector:
        args += ["--selector", selector]
    return tuple(args)


# -- the lock -------------------------------------------------------------------------------------------------
def lock_key(project_name: str, target_key: str, node_ids: Sequence[str]) -> str:
    """The lock's name: the package, the target (database, schema, dataset) and the node set."""
    digest = hashlib.sha256(json.dumps([project_name, target_key, sorted(node_ids)]).encode()).hexdigest()
    return f"{project_name}-{digest[:20]}"


@contextlib.contextmanager
def build_lock(folder: Path, key: str, holder: str, log: logging.Logger = logger,
               poll: float = 30.0) -> Iterator[None]:
    """Hold the lock ``key`` (a file lock in ``folder``) for the block, waiting as long as it takes and saying
    every ``poll`` seconds who holds it."""
    from filelock import FileLock, Timeout

    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(folder / f"{key}.lock"))
    who = folder / f"{key}.holder"
    while True:
        try:
            lock.acquire(timeout=poll)
            break
        except Timeout:
            held_by = who.read_text(encoding="utf-8") if who.is_file() else "another build"
            log.info("waiting for %s to finish building the same nodes (lock %s)", held_by, key)
    try:
        who.write_text(holder, encoding="utf-8")
        yield
    finally:
        lock.release()


# -- writing the board while dbt runs -----------------------------------------------------------------------------
_STOP = object()


class BoardWriter:
    """Writes node results to the board from a thread of its own (dbt's event stream never waits for storage)
    and, for a producer, its heartbeat every few seconds while it runs."""

    def __init__(self, board: Board, *, generation: int, attempt: int, by: str,
                 producer: ProducerState | None = None) -> None:
        self.board = board
        self.generation = generation
        self.attempt = attempt
        self.by = by
        self.producer = producer
        self.written: dict[str, NodeEntry] = {}
        self._queue: queue.Queue[object] = queue.Queue()
        self._thread = threading.Thread(target=self._work, name="dbt-kickoff-board", daemon=True)
        self._errors = 0

    def __enter__(self) -> BoardWriter:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._queue.put(_STOP)
        self._thread.join()

    def on_event(self, event: DbtEvent) -> None:
        """The runner's ``on_event``: a node dbt finished goes to the board."""
        node = event.node
        if event.finished and node is not None and node.status:
            self.put(NodeEntry(unique_id=node.unique_id, name=node.name, resource_type=node.resource_type,
                               status=node.status, time=float(node.execution_time or 0.0),
                               rows=node.rows_affected, failures=node.failures, message=node.message,
                               generation=self.generation, attempt=self.attempt, by=self.by))

    def put(self, entry: NodeEntry) -> None:
        self.written[entry.unique_id] = entry
        self._queue.put(entry)

    def settle(self, results: Sequence[NodeResult]) -> None:
        """dbt's final word on each node (``run_results.json``: row counts, failures): written where it differs
        from what the live event said."""
        for result in results:
            entry = entry_of(result, generation=self.generation, attempt=self.attempt, by=self.by)
            live = self.written.get(result.unique_id)
            if live is None or (live.status, live.rows, live.failures, live.message) != \
                    (entry.status, entry.rows, entry.failures, entry.message):
                self.put(entry)

    def _work(self) -> None:
        last_beat = time.monotonic()
        while True:
            try:
                item = self._queue.get(timeout=1.0)
            except queue.Empty:
                item = None
            if item is _STOP:
                return
            if isinstance(item, NodeEntry):
                self._guard(self.board.write_entry, item)
            if self.producer is not None and time.monotonic() - last_beat >= HEARTBEAT_SECONDS:
                last_beat = time.monotonic()
                self._guard(self.board.write_producer, replace(self.producer, heartbeat=time.time()))

    def _guard(self, write: Callable[..., None], *args: object) -> None:
        try:
            write(*args)
        except Exception as exc:  # the build goes on: the board is for watching it
            self._errors += 1
            if self._errors <= 3:
                logger.warning("could not write the progress board %s: %s", self.board.location, exc)


def entry_of(result: NodeResult, *, generation: int, attempt: int, by: str) -> NodeEntry:
    return NodeEntry(unique_id=result.unique_id, name=result.model_name, resource_type=result.resource_type,
                     status=result.status, time=float(result.time or 0.0), rows=result.rows_affected,
                     failures=result.failures, message=result.message, generation=generation, attempt=attempt,
                     by=by)


# -- the producer ---------------------------------------------------------------------------------------------
Lock = Callable[[PackageRunner], contextlib.AbstractContextManager[None]]
"""The build lock for a runner (its key needs the runner's target)."""


def produce(board: Board, *, make_runner: RunnerFactory, spec: BuildSpec, rendered: Sequence[RenderedNode],
            attempt: int, final: bool, lock: Lock, log: logging.Logger = logger) -> list[NodeResult]:
    """One attempt of the producer (see the module docstring). Returns the build's node results — also when some
    nodes failed: dbt built everything it could, and each failed node's task fails (a retry or a clear of that task
    rebuilds it, and the DAG run can still end green). Raises what the runner raised when the build itself failed
    (dbt could not run or crashed: ``DBTProcessingError`` without failed nodes, ``DbtCancelled``...), after the
    board says how it ended."""
    previous = board.producer()
    same_build = previous is not None and previous.state != SUCCESS
    generation = previous.generation if previous is not None and same_build else \
        (previous.generation + 1 if previous is not None else 1)
    record = previous.record if previous is not None and same_build else None
    state = ProducerState(generation=generation, attempt=attempt, state=RUNNING, final=final,
                          heartbeat=time.time(), record=record)
    board.write_producer(state)
    writer = BoardWriter(board, generation=generation, attempt=attempt, by="producer", producer=state)
    runner: PackageRunner | None = None
    results: list[NodeResult] = []
    error: BaseException | None = None
    node_failures: str | None = None
    try:
        runner = make_runner(writer.on_event)
        with writer, runner, lock(runner):
            try:
                if record is not None:
                    log.info("attempt %s continues the build of attempt %s: dbt retry on %s", attempt,
                             previous.attempt if previous else "?", record)
                    results = list(runner.retry(record))
                else:
                    log.info("dbt build %s", " ".join(spec.args) or "(the whole package)")
                    results = list(runner.build(list(spec.args), additional_vars=spec.vars,
                                                full_refresh=spec.full_refresh, changed_only=spec.changed_only))
            except DBTProcessingError as exc:
                results = exc.run_results
                failed = [r.model_name for r in results if r.is_failure]
                if failed:
                    node_failures = f"{len(failed)} node(s) failed: {', '.join(failed[:10])}"
                    log.warning("dbt built everything it could; %s (their tasks fail)", node_failures)
                else:
                    error = exc
            except DbtCancelled as exc:
                error, results = exc, exc.results
            except BaseException as exc:
                error = exc
            writer.settle(results)
            if error is None:
                by_id = {node.unique_id: node for node in rendered}
                for unique_id in _left_alone(runner, rendered):
                    node = by_id[unique_id]
                    writer.put(NodeEntry(unique_id=unique_id, name=node.name, resource_type=node.resource_type,
                                         status="unchanged", message="changed-only: left alone, unchanged since "
                                         "the last good run", generation=generation, attempt=attempt))
    except BaseException as exc:
        error = error or exc
    finally:
        newest = runner.last_report.record if runner is not None else None
        ended = FINISHED if error is None and node_failures else _ended(error)
        board.write_producer(replace(state, state=ended, final=final or ended in (SUCCESS, FINISHED),
                                     heartbeat=time.time(), message=_first_line(error) or node_failures,
                                     record=newest or state.record))
    if error is not None:
        raise error
    return results


def _ended(error: BaseException | None) -> str:
    if error is None:
        return SUCCESS
    if isinstance(error, DbtCancelled) or not isinstance(error, Exception):
        return STOPPED
    return FAILED


def _first_line(error: BaseException | None) -> str | None:
    if error is None:
        return None
    text = str(error).strip()
    return text.splitlines()[0][:500] if text else type(error).__name__


def _left_alone(runner: PackageRunner, rendered: Sequence[RenderedNode]) -> list[str]:
    """The rendered nodes a changed-only build left alone."""
    changed = runner.last_report.changed
    if changed is None:
        return []
    unchanged = set(changed.unchanged)
    return [node.unique_id for node in rendered if node.unique_id in unchanged]


# -- a node task's rebuild ------------------------------------------------------------------------------------
def rebuild(board: Board, *, make_runner: RunnerFactory, selectors: Sequence[str], by: str, lock: Lock,
            vars: Mapping[str, object] | None = None, log: logging.Logger = logger) -> list[NodeResult]:
    """Build the nodes ``selectors`` pick again, as a retry of the build's newest record (so the chain's merged
    record has them), or with ``dbt build`` when the build left no record (its producer was killed). The board
    gets their new results and the new record. Raises what the runner raised, after the board has them."""
    from dbt_kickoff.records import RecordNotFound

    producer = board.producer()
    generation, attempt = (producer.generation, producer.attempt) if producer is not None else (1, 1)
    writer = BoardWriter(board, generation=generation, attempt=attempt, by=by)
    runner = make_runner(writer.on_event)
    results: list[NodeResult] = []
    with writer, runner, lock(runner):
        producer = board.producer()  # the newest record, now that this holds the lock
        record = producer.record if producer is not None else None
        try:
            if record is not None:
                log.info("rebuilding %s: a retry of %s", " ".join(selectors), record)
                try:
                    results = list(runner.retry(record, select=list(selectors)))
                except RecordNotFound as exc:
                    log.warning("the build's record cannot be read here (%s): building without it", exc)
                    record = None
            if record is None:
                results = list(runner.build(["--select", *selectors], additional_vars=vars))
        except DBTProcessingError as exc:
            results = exc.run_results
            raise
        except DbtCancelled as exc:
            results = exc.results
            raise
        finally:
            writer.settle(results)
            newest = runner.last_report.record
            if newest and producer is not None:
                board.write_producer(replace(board.producer() or producer, record=newest))
    return results
