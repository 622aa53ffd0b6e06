"""Listing the nodes a criterion's selectors pick: on the good run's manifest when the project files are
unchanged, else with ``dbt ls`` (see :mod:`~dbt_kickoff.changed.selection`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dbt_kickoff.changed.selection import LS_KEYS, Listed, ManifestGraph, parse_ls_line
from dbt_kickoff.changed.state import State
from dbt_kickoff.core.call import Call
from dbt_kickoff.engines import DbtEvent
from dbt_kickoff.errors import KickoffError

STATEFUL_METHODS = ("state:", "result:", "source_status:")


class NodeLister:
    """Lists the nodes of a criterion's selectors: on the good run's manifest when the code is unchanged
    (:class:`ManifestGraph`; ``always_build`` from the good run's answer when it was asked with the same files),
    otherwise with ``dbt ls``."""

    def __init__(self, call: Call, state: State, code_unchanged: bool, always_build: str | None) -> None:
        self.call, self.state, self.fingerprint = call, state, call.project.fingerprint
        self.graph = ManifestGraph(state.manifest, state.rerun) if code_unchanged else None
        self.always_build = tuple(always_build.split()) if always_build else ()
        self.always_built: dict[str, Any] | None = None
        """What ``always_build`` selected, for the next call (``None`` when it holds state-dependent methods)."""

    def ls(self, selectors: Sequence[str], with_state: bool) -> list[Listed]:
        listed = self.graph.select(selectors) if self.graph is not None else None
        if listed is not None:
            return listed
        keep = tuple(selectors) == self.always_build and not any(m in " ".join(selectors) for m in STATEFUL_METHODS)
        if keep and self.graph is not None:
            listed = self._recorded_always_build()
        if listed is None:
            listed = dbt_ls(self.call, selectors, with_state, self.state)
        if keep:
            self.always_built = {"selector": " ".join(self.always_build), "fingerprint": self.fingerprint,
                                 "nodes": [node.unique_id for node in listed]}
        return listed

    def _recorded_always_build(self) -> list[Listed] | None:
        recorded = self.state.snapshot.get("always_build")
        if not isinstance(recorded, Mapping) or self.graph is None:
            return None
        if recorded.get("selector") != " ".join(self.always_build) or recorded.get("fingerprint") != self.fingerprint:
            return None
        nodes = [self.graph.nodes.get(str(uid)) for uid in recorded.get("nodes") or ()]
        return [node for node in nodes if node is not None]


def dbt_ls(call: Call, selectors: Sequence[str], with_state: bool, state: State) -> list[Listed]:
    nodes: list[Listed] = []

    def collect(event: DbtEvent) -> None:
        if event.name == "PrintEvent" and (node := parse_ls_line(event.message)) is not None:
            nodes.append(node)

    command = ["ls", "--select", *selectors]
    if with_state:
        command += ["--state", str(state.folder)]
    command += ["--output", "json", "--output-keys", *LS_KEYS]
    outcome = call.quiet(command, on_event=collect)
    if not outcome.success:
        raise KickoffError(call.redact(outcome.error or "; ".join(outcome.errors[-3:]) or "dbt ls failed"))
    return nodes
