"""Which node a dbt log line or a ``run_results.json`` entry speaks about, by unique id, through a manifest.

A log line names a relation (``dbt_prod.orders``), a test or a source table; the manifest knows each node's
schema, alias and name, so the line maps to the node's unique id. Without a manifest, a node is named
``<type>:<what the log says>`` (``model:dbt_prod.orders``): not a unique id, but stable within the run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dbt_kickoff.cloud.loglines import NodeLine, node_key
from dbt_kickoff.results import node_result_from_artifact

RELATIONS = frozenset({"model", "seed", "snapshot"})


@dataclass(frozen=True)
class Node:
    """A node as events name it."""

    unique_id: str
    name: str
    resource_type: str


class NodeIndex:
    """Looks nodes up by the key of :func:`~dbt_kickoff.cloud.loglines.node_key`."""

    def __init__(self, manifest: Mapping[str, Any] | None = None) -> None:
        self._by_key: dict[str, Node] = {}
        self._key_of: dict[str, str] = {}
        if manifest:
            self._read(manifest)

    @property
    def empty(self) -> bool:
        return not self._by_key

    def _add(self, key: str, node: Node) -> None:
        self._by_key.setdefault(key, node)
        self._key_of.setdefault(node.unique_id, key)

    def _read(self, manifest: Mapping[str, Any]) -> None:
        for uid, data in (manifest.get("nodes") or {}).items():
            kind = str(data.get("resource_type") or uid.split(".", 1)[0])
            name = str(data.get("name") or uid.rsplit(".", 1)[-1])
            node = Node(uid, name, kind)
            if kind in RELATIONS:
                relation = f"{data.get('schema')}.{data.get('alias') or name}"
                self._add(node_key(kind, relation, relation=True), node)
            else:
                self._add(node_key(kind, name, relation=False), node)
        for uid, data in (manifest.get("sources") or {}).items():
            name = f"{data.get('source_name')}.{data.get('name')}"
            self._add(node_key("source", name, relation=False), Node(uid, name, "source"))
        for uid, data in (manifest.get("unit_tests") or {}).items():
            name = f"{data.get('model')}::{data.get('name')}"
            self._add(node_key("unit_test", name, relation=False), Node(uid, str(data.get("name")), "unit_test"))

    def of_line(self, line: NodeLine) -> Node:
        """The node a log line speaks about (a stand-in named from the line when the manifest lacks it)."""
        found = self._by_key.get(line.key)
        if found is not None:
            return found
        kind = line.kind or ("model" if line.relation else "test")
        name = line.subject.split(".")[-1] if line.relation else line.subject
        return Node(f"{kind}:{line.subject}", name, kind)

    def keys_of_result(self, entry: Mapping[str, Any]) -> set[str]:
        """What a ``run_results.json``/``sources.json`` entry may have been called in the logs: its unique id and
        its key (from the manifest, else from its relation name or unique id)."""
        uid = str(entry.get("unique_id") or "")
        keys = {uid}
        known = self._key_of.get(uid)
        if known is not None:
            keys.add(known)
        kind = uid.split(".", 1)[0]
        relation = str(entry.get("relation_name") or "").replace('"', "").replace("`", "")
        if kind in RELATIONS and relation:
            keys.add(node_key(kind, relation, relation=True))
        result = node_result_from_artifact(entry)
        keys.add(node_key(kind, result.model_name, relation=False))
        return keys

    def name_of(self, unique_id: str) -> str | None:
        key = self._key_of.get(unique_id)
        node = self._by_key.get(key) if key else None
        return node.name if node else None
