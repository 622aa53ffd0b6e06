"""From criteria (a reason and the dbt selectors that pick its nodes) to one selection and a reason per node.

dbt itself evaluates every selector (``dbt ls`` on the warm worker, with its cached manifest), one ``dbt ls`` per
criterion; a node takes the reason of the first criterion that selects it, in the order given. Source criteria
name the source a node is built for: the first changed source upstream of it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

BUILT_TYPES = frozenset({"model", "seed", "snapshot", "test", "unit_test"})
"""What ``dbt build`` runs (sources, exposures... are listed by ``dbt ls`` but never built)."""
LS_KEYS = ("unique_id", "name", "resource_type", "depends_on")


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


def reasons_by_node(criteria: Sequence[Criterion], ls: Lister) -> dict[str, tuple[str, Listed]]:
    """unique_id -> (reason, node) for every node that ``dbt build`` would run for these criteria."""
    reasons: dict[str, tuple[str, Listed]] = {}
    for criterion in criteria:
        nodes = ls(criterion.selectors, criterion.needs_state)
        upstream = _source_reasons(nodes, criterion.by_source) if criterion.by_source else {}
        for node in nodes:
            if node.resource_type in BUILT_TYPES and node.unique_id not in reasons:
                reasons[node.unique_id] = (upstream.get(node.unique_id, criterion.reason), node)
    return reasons
