"""Node events of a dbt Cloud run, from its steps' logs as polls bring them: the Core runner's event types
(:class:`~dbt_kickoff.engines.base.DbtEvent` with a :class:`~dbt_kickoff.engines.base.NodeEvent`), each node
started and finished once.

:class:`RunFollower` is pure state: fed the run (with ``run_steps``) after each poll it returns the events of the
lines it has not seen — a line is known by its step and its "N of M" number, so the window of the last 1,000
debug lines may move at any pace — and says which finished steps lost lines to that window; fed those steps'
``run_results.json`` (or ``sources.json``) it returns the nodes the logs never showed. Its state is a JSON-able
dict, so a worker restarted mid-wait goes on where the last one stopped.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dbt_kickoff.cloud.artifacts import RESULT_COMMANDS, step_command
from dbt_kickoff.cloud.loglines import NodeLine, done_total, node_key, parse_line
from dbt_kickoff.cloud.node_index import NodeIndex
from dbt_kickoff.engines.base import DbtEvent, NodeEvent
from dbt_kickoff.results import FAILURE_STATUSES, node_result_from_artifact

FRESHNESS = "source freshness"
FOLLOWED = RESULT_COMMANDS | {FRESHNESS}
TERMINAL = (10, 20, 30)


def results_file(command: str | None) -> str:
    """The artifact that lists a step's nodes: ``sources.json`` for freshness, else ``run_results.json``."""
    return "sources.json" if command == FRESHNESS else "run_results.json"


@dataclass
class StepState:
    """What was delivered of one step: lines seen (``s<N>``/``f<N>``), nodes finished (their keys and ids), the
    step's node count once a line told it, and whether the step is done with (``closed``)."""

    seen: set[str] = field(default_factory=set)
    finished: set[str] = field(default_factory=set)
    total: int | None = None
    closed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"seen": sorted(self.seen), "finished": sorted(self.finished), "total": self.total,
                "closed": self.closed}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StepState:
        total = data.get("total")
        return cls(set(data.get("seen") or ()), set(data.get("finished") or ()),
                   int(total) if isinstance(total, int) else None, bool(data.get("closed")))

    @property
    def finished_lines(self) -> int:
        return sum(1 for item in self.seen if item.startswith("f"))


@dataclass(frozen=True)
class NodeUpdate:
    """A node event not delivered yet, with what delivering it changes in the follower's state (see
    :meth:`RunFollower.commit`): the ``mark`` of its line (``s<N>`` or ``f<N>``, ``""`` when it came from an
    artifact) and the ``keys`` a finished node is known by."""

    step: int
    mark: str
    keys: tuple[str, ...]
    event: DbtEvent


class RunFollower:
    r"""Turns a run's step logs into node events, each once (see the module docstring). ``redact`` masks what
    dbt Cloud's text may echo (the token, known secrets).

    :meth:`observe` and :meth:`fill` return updates without changing what counts as delivered; the caller
    delivers each update's event, then :meth:`commit`\ s it, so a delivery that fails (or a worker stopped
    midway) leaves the state saying exactly what was delivered."""

    def __init__(self, redact: Callable[[str], str] = str, state: Mapping[str, Any] | None = None) -> None:
        self.redact = redact
        self.index = NodeIndex()
        self.steps: dict[int, StepState] = {
            int(number): StepState.from_dict(data) for number, data in ((state or {}).get("steps") or {}).items()
        }

    def to_dict(self) -> dict[str, Any]:
        return {"steps": {str(number): step.to_dict() for number, step in sorted(self.steps.items())}}

    def use_manifest(self, manifest: Mapping[str, Any] | None) -> None:
        """Map log lines to unique ids through ``manifest`` (the job's)."""
        self.index = NodeIndex(manifest)

    @staticmethod
    def followed_steps(run: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        """The run's steps that run dbt nodes (build, run, test, seed, snapshot, retry, source freshness), in order."""
        steps = sorted(run.get("run_steps") or [], key=lambda s: int(s.get("index") or 0))
        return [s for s in steps if step_command(s) in FOLLOWED and s.get("index") is not None]

    def observe(self, run: Mapping[str, Any]) -> list[NodeUpdate]:
        """The updates of the lines of ``run``'s steps not delivered yet, in log order."""
        updates: list[NodeUpdate] = []
        for step in self.followed_steps(run):
            index = int(step["index"])
            state = self.steps.setdefault(index, StepState())
            if state.closed:
                continue
            text = step.get("truncated_debug_logs")
            if text is None:
                text = step.get("logs")
            batch: set[str] = set()
            for raw in str(text or "").splitlines():
                update = self._read(index, state, batch, raw)
                if update is not None:
                    updates.append(update)
        return updates

    def commit(self, update: NodeUpdate) -> None:
        """Count ``update`` as delivered."""
        state = self.steps.setdefault(update.step, StepState())
        if update.mark:
            state.seen.add(update.mark)
        state.finished.update(update.keys)

    def _read(self, step: int, state: StepState, batch: set[str], raw: str) -> NodeUpdate | None:
        line = parse_line(raw)
        if line is None:
            total = done_total(raw)
            if total is not None:
                state.total = total
            return None
        state.total = line.total
        mark = f"{'s' if line.started else 'f'}{line.index}"
        done = state.seen | batch
        if mark in done or (line.started and f"f{line.index}" in done):
            return None  # delivered; or a start whose result is known already: never start it after
        batch.add(mark)
        node = self.index.of_line(line)
        name = "NodeStart" if line.started else "NodeFinished"
        keys = () if line.started else tuple(_keys_of_line(line, node.unique_id))
        return NodeUpdate(step, mark, keys, self._event(name, line, node.unique_id, node.name, node.resource_type))

    def _event(self, name: str, line: NodeLine, unique_id: str, node_name: str, resource_type: str) -> DbtEvent:
        status = line.status
        level = "error" if status in FAILURE_STATUSES else "warn" if status == "warn" else "info"
        message = None if status in ("started", "pass", "skipped") else line.reported
        return DbtEvent(
            name=name,
            level=level,
            message=self.redact(line.text),
            node=NodeEvent(unique_id=unique_id, name=node_name, resource_type=resource_type, status=status,
                           execution_time=line.seconds, message=self.redact(message) if message else None),
        )

    def to_fill(self, run: Mapping[str, Any]) -> list[tuple[int, str]]:
        """``(step index, artifact)`` of the finished steps whose logs did not show every node: their results file
        tells the rest. Steps whose logs showed every node are closed here."""
        wanted = []
        for step in self.followed_steps(run):
            state = self.steps.setdefault(int(step["index"]), StepState())
            if state.closed or step.get("status") not in TERMINAL:
                continue
            if state.total is not None and state.finished_lines >= state.total:
                state.closed = True
            else:
                wanted.append((int(step["index"]), results_file(step_command(step))))
        return wanted

    def fill(self, step_index: int, document: bytes | None) -> list[NodeUpdate]:
        """The nodes of a finished step's results file (its ``run_results.json`` or ``sources.json``; ``None``:
        it has none) that no log line showed. :meth:`close` the step once they are delivered."""
        state = self.steps.setdefault(step_index, StepState())
        if not document:
            return []
        try:
            entries = json.loads(document).get("results") or []
        except (ValueError, AttributeError, UnicodeDecodeError):
            return []
        updates = []
        batch: set[str] = set()
        for entry in entries:
            keys = self.index.keys_of_result(entry)
            if keys & (state.finished | batch):
                continue
            batch.update(keys)
            result = node_result_from_artifact(entry)
            name = self.index.name_of(result.unique_id) or result.model_name
            status = result.status
            level = "error" if status in FAILURE_STATUSES else "warn" if status == "warn" else "info"
            updates.append(NodeUpdate(step_index, "", tuple(keys), DbtEvent(
                name="NodeFinished", level=level,
                message=self.redact(f"{status} {result.resource_type} {name} (from the step's artifacts)"),
                node=NodeEvent(unique_id=result.unique_id, name=name, resource_type=result.resource_type,
                               status=status, execution_time=result.time,
                               message=self.redact(result.message) if result.message else None),
            )))
        return updates

    def close(self, step_index: int) -> None:
        """The step has nothing more to deliver."""
        self.steps.setdefault(step_index, StepState()).closed = True


def _keys_of_line(line: NodeLine, unique_id: str) -> Iterable[str]:
    keys = [unique_id, line.key]
    if line.relation:
        keys.append(node_key(line.kind, line.subject.split(".")[-1], relation=False))
    return keys
