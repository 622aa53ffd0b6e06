"""From criteria (a reason and the dbt selectors that pick its nodes) to one selection and a reason per node.

When the project files are those of the last good run, the selectors changed-only makes itself
(``source:<name>+``, ``result:<status>+``) are evaluated here on that run's manifest (:class:`ManifestGraph`);
any other selector is evaluated by dbt itself (``dbt ls`` on the warm worker, with its cached manifest), one
``dbt ls`` per criterion. A node takes the reason of the first criterion that selects it, in the order given.
Source criteria name the source a node is built for: the first changed source upstream of it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

BUILT_TYPES = frozenset({"model", "seed", "snapshot", "test", "unit_test"})
"""What ``dbt build`` runs (sources, exposures... are listed by ``dbt ls`` but never built)."""
LS_KEYS = ("unique_id", "name", "resource_type", "depends_on")
SELECTION_FLAGS = ("--select", "-s", "--selector", "--models", "-m")
"""dbt arguments that choose nodes (a call given one is no full build)."""


@dataclass(frozen=True)
class Criterion:
    """``reason`` for the nodes ``selectors`` pick; with ``by_source`` (source unique_id -> reason), each node
    gets the reason of a changed source upstream of it instead."""

    reason: str
    selectors: tuple[str, ...]
    needs_state: bool = False
    by_source: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Listed:
    unique_id: str
    name: str
    resource_type: str
    parents: tuple[str, ...] = ()


Lister = Callable[[Sequence[str], bool], list[Listed]]
"""Runs ``dbt ls`` with these selectors (and ``--state`` when asked) and returns the nodes it lists."""


def parse_ls_line(line: str) -> Listed | None:
    """One line of ``dbt ls --output json --output-keys unique_id name resource_type depends_on``."""
    try:
        data = json.loads(line)
    except (json.JSONDecodeError, TypeError):
        return None
    if not isinstance(data, dict) or not data.get("unique_id"):
        return None
    depends = data.get("depends_on")
    depends = depends if isinstance(depends, dict) else {}
    return Listed(str(data["unique_id"]), str(data.get("name") or ""), str(data.get("resource_type") or ""),
                  tuple(str(p) for p in depends.get("nodes") or ()))


class ManifestGraph:
    """dbt's graph from a manifest, for the selectors changed-only writes: ``source:<source>.<table>+``,
    ``result:<status>+`` (nodes left in that status, from ``rerun``) and ``fqn:<a node's whole fqn>+``, each with
    everything downstream; tests and unit tests are children of what they test, so dbt's eager indirect selection
    gives the same set."""

    def __init__(self, manifest: Mapping[str, Any], rerun: Mapping[str, str]) -> None:
        self.nodes: dict[str, Listed] = {}
        self.children: dict[str, list[str]] = {}
        self.sources: dict[str, str] = {}
        self.by_fqn: dict[str, list[str]] = {}
        for uid, source in (manifest.get("sources") or {}).items():
            self.nodes[uid] = Listed(uid, str(source.get("name") or ""), "source")
            self.sources[f"{source.get('source_name')}.{source.get('name')}"] = uid
        for group in ("nodes", "unit_tests", "exposures", "semantic_models", "metrics", "saved_queries"):
            for uid, node in (manifest.get(group) or {}).items():
                parents = tuple(str(p) for p in (node.get("depends_on") or {}).get("nodes") or ())
                self.nodes[uid] = Listed(uid, str(node.get("name") or ""), str(node.get("resource_type") or ""),
                                         parents)
                self.by_fqn.setdefault(".".join(map(str, node.get("fqn") or ())), []).append(uid)
                for parent in parents:
                    self.children.setdefault(parent, []).append(uid)
        self.rerun = rerun

    def _starts(self, selector: str) -> list[str] | None:
        method, _, value = selector.removesuffix("+").partition(":")
        if not selector.endswith("+") or not value:
            return None
        if method == "source":
            return [self.sources[value]] if value in self.sources else []
        if method == "result":
            return [uid for uid, status in self.rerun.items() if status == value and uid in self.nodes]
        if method == "fqn" and value in self.by_fqn:
            return list(self.by_fqn[value])
        return None

    def select(self, selectors: Sequence[str]) -> list[Listed] | None:
        """The nodes these selectors pick, or ``None`` when one of them is not evaluated here."""
        starts: list[str] = []
        for selector in selectors:
            found = self._starts(selector)
            if found is None:
                return None
            starts += found
        seen: dict[str, None] = {}
        pending = list(reversed(starts))
        while pending:
            uid = pending.pop()
            if uid not in seen:
                seen[uid] = None
                pending.extend(self.children.get(uid, ()))
        return [self.nodes[uid] for uid in seen if uid in self.nodes]


def selectors_of(criteria: Sequence[Criterion]) -> list[str]:
    """Every selector once, in order (what ``--select`` gets)."""
    seen: dict[str, None] = {}
    for criterion in criteria:
        seen.update(dict.fromkeys(criterion.selectors))
    return list(seen)


def _source_reasons(nodes: Sequence[Listed], by_source: Mapping[str, str]) -> dict[str, str]:
    """Each listed node's reason: that of the first changed source found upstream (depth first, parents sorted)."""
    listed = {node.unique_id: node for node in nodes}
    found: dict[str, str | None] = {}

    def reason_of(unique_id: str) -> str | None:
        if unique_id in by_source:
            return by_source[unique_id]
        if unique_id in found:
            return found[unique_id]
        found[unique_id] = None  # a cycle guard; dbt's graph has none
        node = listed.get(unique_id)
        for parent in sorted(node.parents) if node else ():
            reason = reason_of(parent)
            if reason is not None:
                found[unique_id] = reason
                break
        return found[unique_id]

    return {node.unique_id: reason for node in nodes if (reason := reason_of(node.unique_id)) is not None}


def reasons_by_node(criteria: Sequence[Criterion], ls: Lister,
                    empty: list[Criterion] | None = None) -> dict[str, tuple[str, Listed]]:
    """unique_id -> (reason, node) for every node that ``dbt build`` would run for these criteria; the criteria
    that select no node at all are added to ``empty`` (dbt would warn about their selectors)."""
    reasons: dict[str, tuple[str, Listed]] = {}
    for criterion in criteria:
        nodes = ls(criterion.selectors, criterion.needs_state)
        if not nodes and empty is not None:
            empty.append(criterion)
        upstream = _source_reasons(nodes, criterion.by_source) if criterion.by_source else {}
        for node in nodes:
            if node.resource_type in BUILT_TYPES and node.unique_id not in reasons:
                reasons[node.unique_id] = (upstream.get(node.unique_id, criterion.reason), node)
    return reasons


def node_selector(node: Mapping[str, Any]) -> str:
    """The selector of one manifest node and what is downstream of it (``fqn:<its fqn>+``)."""
    return "fqn:" + ".".join(map(str, node.get("fqn") or (node.get("package_name"), node.get("name")))) + "+"
