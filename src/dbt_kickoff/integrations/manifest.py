"""What an orchestrator needs from a dbt ``manifest.json``: the nodes that build tables, their upstream nodes
and sources, and the data tests that check them. Pure functions over the parsed document."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.runner import PackageRunner

BUILT_TYPES = frozenset({"model", "seed", "snapshot"})


@dataclass(frozen=True)
class BuiltNode:
    """A model, seed or snapshot that leaves a relation behind."""

    unique_id: str
    name: str
    resource_type: str
    fqn: tuple[str, ...]
    description: str
    upstream: tuple[str, ...]
    """unique ids of the built nodes and sources it reads (ephemeral models resolved to what they read)."""
    tests: tuple[TestNode, ...]


@dataclass(frozen=True)
class TestNode:
    unique_id: str
    name: str
    fqn: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class SourceTable:
    unique_id: str
    source_name: str
    name: str
    description: str


@dataclass(frozen=True)
class ManifestGraph:
    nodes: tuple[BuiltNode, ...]
    sources: tuple[SourceTable, ...]

    def by_id(self) -> dict[str, BuiltNode]:
        return {node.unique_id: node for node in self.nodes}


def load_manifest(manifest: Mapping[str, Any] | str | Path) -> dict[str, Any]:
    """A parsed manifest (given as a mapping, or the path of a ``manifest.json``)."""
    if isinstance(manifest, Mapping):
        return dict(manifest)
    path = Path(manifest)
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise ConfigurationError(f"no dbt manifest at {path}: run `dbt parse` on the package first") from None
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"{path} is not a dbt manifest (invalid JSON: {exc})") from None


def parse_manifest(runner: PackageRunner, additional_vars: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The package's manifest for the runner's profile and these vars: the one dbt wrote for the package's files as
    they are now (target folder, or published to the run records store by any worker), read without starting
    dbt; else ``dbt parse`` runs (see :meth:`~dbt_kickoff.PackageRunner.manifest`)."""
    return runner.manifest(additional_vars)


def manifest_graph(manifest: Mapping[str, Any]) -> ManifestGraph:
    """The built nodes (not ephemeral, not disabled), with their upstream and attached tests, and the sources."""
    nodes: Mapping[str, Any] = manifest.get("nodes") or {}
    sources: Mapping[str, Any] = manifest.get("sources") or {}
    if not isinstance(nodes, Mapping) or "metadata" not in manifest:
        raise ConfigurationError("this is not a dbt manifest (no 'metadata' or 'nodes'): pass dbt's manifest.json")
    built = {uid: n for uid, n in nodes.items() if n.get("resource_type") in BUILT_TYPES and not _ephemeral(n)}

    def upstream(uid: str, seen: frozenset[str] = frozenset()) -> list[str]:
        found: list[str] = []
        for parent in (nodes.get(uid) or {}).get("depends_on", {}).get("nodes", []):
            if parent in built or parent in sources:
                found.append(parent)
            elif parent in nodes and _ephemeral(nodes[parent]) and parent not in seen:
                found.extend(upstream(parent, seen | {uid}))
        return list(dict.fromkeys(found))

    tests: dict[str, list[TestNode]] = {}
    for uid, node in nodes.items():
        if node.get("resource_type") != "test":
            continue
        target = _tested_node(node, built)
        if target is not None:
            tests.setdefault(target, []).append(
                TestNode(unique_id=uid, name=str(node.get("name")), fqn=_fqn(node),
                         description=str(node.get("description") or ""))
            )
    return ManifestGraph(
        nodes=tuple(
            BuiltNode(
                unique_id=uid,
                name=str(n.get("name")),
                resource_type=str(n["resource_type"]),
                fqn=_fqn(n),
                description=str(n.get("description") or ""),
                upstream=tuple(upstream(uid)),
                tests=tuple(tests.get(uid, ())),
            )
            for uid, n in built.items()
        ),
        sources=tuple(
            SourceTable(unique_id=uid, source_name=str(s.get("source_name")), name=str(s.get("name")),
                        description=str(s.get("description") or ""))
            for uid, s in sources.items()
        ),
    )


def _fqn(node: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(str(part) for part in node.get("fqn") or (node.get("package_name"), node.get("name")))


def _ephemeral(node: Mapping[str, Any]) -> bool:
    return (node.get("config") or {}).get("materialized") == "ephemeral"


def _tested_node(test: Mapping[str, Any], built: Mapping[str, Any]) -> str | None:
    """The node a data test checks: dbt's ``attached_node``, else its only built parent."""
    attached = test.get("attached_node")
    if attached in built:
        return str(attached)
    parents = [p for p in test.get("depends_on", {}).get("nodes", []) if p in built]
    return parents[0] if len(set(parents)) == 1 else None


def selector(node: BuiltNode | TestNode) -> str:
    """A dbt selector matching exactly this node."""
    return "fqn:" + ".".join(node.fqn)
