"""What a :class:`~dbt_kickoff.integrations.airflow.DbtKickoffTaskGroup` renders, worked out from a manifest alone:
one task per model, seed and snapshot (ephemeral models are skipped and their dependencies passed through), the
tests of each node (``test_behavior``), and the dependencies between them as dbt's graph has them. Pure: no
Airflow, no dbt.

``test_behavior`` (as cosmos's ``TestBehavior``):

- ``"after_each"``: a ``<node>_test`` task after each node that has tests, reflecting them all; what reads the
  node waits for its tests, as in ``dbt build``.
- ``"build"``: each node's task reflects the node and its tests together.
- ``"none"``: no tests are rendered, and the producer runs none.

A test with several parents (``relationships``...) or with no built parent (a source's test) gets a task of its
own, after all of its parents, so no task waits on a test that waits on it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.integrations.selection import TEST_TYPES, ManifestSelector, Selection

TEST_BEHAVIORS = ("after_each", "build", "none")
BUILT_TYPES = frozenset({"model", "seed", "snapshot"})
PRODUCER_TASK_ID = "dbt_build"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass(frozen=True)
class PlannedTask:
    """One node task: what it reflects (``unique_ids``; ``primary`` is the node it is named after) and the tasks
    it waits for."""

    task_id: str
    kind: str
    """``"node"`` (a model, seed or snapshot), ``"tests"`` (a node's tests) or ``"test"`` (a test on its own)."""
    primary: str
    resource_type: str
    name: str
    unique_ids: tuple[str, ...]
    upstream: tuple[str, ...] = ()
    relation: tuple[str, ...] | None = None
    """``(database, schema, identifier)`` of the relation a node builds (for Airflow assets)."""
    selectors: tuple[str, ...] = ()
    """dbt selectors matching exactly ``unique_ids`` (what a rebuild of this task selects)."""


@dataclass(frozen=True)
class RenderPlan:
    tasks: tuple[PlannedTask, ...]
    node_ids: frozenset[str]
    """Every unique id the producer's build must report (nodes and rendered tests)."""
    project_name: str
    test_behavior: str


def plan_render(manifest: Mapping[str, Any], *, select: Selection = None, exclude: Selection = None,
                selector: str | None = None, test_behavior: str = "after_each") -> RenderPlan:
    """The tasks for the nodes of ``manifest`` that ``select``/``exclude``/``selector`` pick (see the module
    docstring). Raises :class:`ConfigurationError` for an unknown ``test_behavior`` or a selector it cannot
    evaluate without dbt."""
    if test_behavior not in TEST_BEHAVIORS:
        raise ConfigurationError(f"test_behavior must be one of {', '.join(map(repr, TEST_BEHAVIORS))}, "
                                 f"not {test_behavior!r}")
    if "nodes" not in manifest or "metadata" not in manifest:
        raise ConfigurationError("this is not a dbt manifest (no 'metadata' or 'nodes'): pass dbt's manifest.json")
    graph = ManifestSelector(manifest)
    chosen = graph.select(select, exclude, selector, indirect_tests=test_behavior != "none")
    if test_behavior == "none":
        chosen = {uid for uid in chosen if graph.nodes[uid].get("resource_type") not in TEST_TYPES}
    nodes = graph.nodes
    built = {uid for uid in chosen if nodes[uid].get("resource_type") in BUILT_TYPES and not _ephemeral(nodes[uid])}

    def built_parents(uid: str, seen: frozenset[str] = frozenset()) -> list[str]:
        found: list[str] = []
        for parent in graph.parents.get(uid, ()):
            if parent in built:
                found.append(parent)
            elif parent in nodes and _ephemeral(nodes[parent]) and parent not in seen:
                found += built_parents(parent, seen | {uid})
        return list(dict.fromkeys(found))

    tests_of: dict[str, list[str]] = {}
    detached: list[str] = []
    for uid in sorted(chosen):
        if nodes[uid].get("resource_type") not in TEST_TYPES:
            continue
        parents = built_parents(uid)
        if len(parents) == 1:
            tests_of.setdefault(parents[0], []).append(uid)
        else:
            detached.append(uid)

    ids = _TaskIds()
    node_task: dict[str, str] = {}
    gate: dict[str, str] = {}  # what a node's children wait for: its tests' task, or the node's
    tasks: list[dict[str, Any]] = []
    for uid in _in_dag_order(built, built_parents):
        node = nodes[uid]
        name = str(node.get("name"))
        own_tests = tuple(tests_of.get(uid, ()))
        task_id = ids.make(name, uid)
        node_task[uid] = gate[uid] = task_id
        reflected = (uid, *own_tests) if test_behavior == "build" else (uid,)
        tasks.append({"task_id": task_id, "kind": "node", "primary": uid, "resource_type": node["resource_type"],
                      "name": name, "unique_ids": reflected,
                      "upstream": tuple(dict.fromkeys(gate[p] for p in built_parents(uid))),
                      "relation": _relation(node)})
        if own_tests and test_behavior == "after_each":
            tests_id = ids.make(f"{name}_test", uid + "#tests")
            gate[uid] = tests_id
            tasks.append({"task_id": tests_id, "kind": "tests", "primary": uid, "resource_type": "test",
                          "name": f"{name} tests", "unique_ids": own_tests, "upstream": (task_id,)})
    for uid in detached:
        node = nodes[uid]
        name = str(node.get("name"))
        tasks.append({"task_id": ids.make(name, uid), "kind": "test", "primary": uid,
                      "resource_type": str(node.get("resource_type")), "name": name, "unique_ids": (uid,),
                      "upstream": tuple(dict.fromkeys(node_task[p] for p in built_parents(uid)))})

    reflected_ids = {uid for task in tasks for uid in task["unique_ids"]}
    selectors = {uid: _selector(nodes[uid]) for uid in reflected_ids}
    return RenderPlan(
        tasks=tuple(
            PlannedTask(**task, selectors=tuple(selectors[uid] for uid in task["unique_ids"]))
            for task in tasks
        ),
        node_ids=frozenset(reflected_ids),
        project_name=graph.project_name,
        test_behavior=test_behavior,
    )


class _TaskIds:
    """Task ids from node names, made unique (a clash gets the resource type, then a number)."""

    def __init__(self) -> None:
        self.used: set[str] = {PRODUCER_TASK_ID}

    def make(self, name: str, unique_id: str) -> str:
        base = _UNSAFE.sub("_", name)[:200] or "node"
        candidate = base
        if candidate in self.used:
            candidate = f"{base}_{unique_id.split('.', 1)[0]}"
        number = 2
        while candidate in self.used:
            candidate, number = f"{base}_{number}", number + 1
        self.used.add(candidate)
        return candidate


def _in_dag_order(built: set[str], parents_of: Any) -> list[str]:
    """``built`` sorted so every node comes after its parents (ties by unique id, for a stable rendering)."""
    order: list[str] = []
    placed: set[str] = set()
    waiting = {uid: set(parents_of(uid)) for uid in built}
    ready = sorted(uid for uid, parents in waiting.items() if not parents)
    children: dict[str, list[str]] = {}
    for uid, parents in waiting.items():
        for parent in parents:
            children.setdefault(parent, []).append(uid)
    while ready:
        uid = ready.pop(0)
        order.append(uid)
        placed.add(uid)
        for child in sorted(children.get(uid, ())):
            waiting[child].discard(uid)
            if not waiting[child] and child not in placed and child not in ready:
                ready.append(child)
        ready.sort()
    if len(order) != len(built):
        raise ConfigurationError("the manifest's graph has a cycle: dbt would refuse it too")
    return order


def _ephemeral(node: Mapping[str, Any]) -> bool:
    return (node.get("config") or {}).get("materialized") == "ephemeral"


def _relation(node: Mapping[str, Any]) -> tuple[str, ...] | None:
    identifier = node.get("alias") or node.get("identifier") or node.get("name")
    if not identifier:
        return None
    return tuple(str(part) for part in (node.get("database") or "", node.get("schema") or "", identifier))


def _selector(node: Mapping[str, Any]) -> str:
    """A dbt selector of exactly this node: its whole fqn, its name and its resource type intersected (an fqn alone
    also picks what lies in a folder of the same name)."""
    name, kind = str(node.get("name")), str(node.get("resource_type"))
    if kind == "unit_test":
        return f"unit_test:{node.get('package_name')}.{name}"
    fqn = ".".join(str(part) for part in node.get("fqn") or (node.get("package_name"), name))
    return f"fqn:{fqn},fqn:{name},resource_type:{kind}"


def safe_name(text: str) -> str:
    """``text`` usable as a file or key name (unsafe characters replaced)."""
    return _UNSAFE.sub("_", text)
