"""Listing the nodes a criterion's selectors pick: on the good run's manifest when the project files are
unchanged, else with ``dbt ls`` (see :mod:`~dbt_kickoff.changed.selection`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from dbt_kickoff.changed.selection import Listed, ManifestGraph, parse_ls_line
from dbt_kickoff.changed.state import State
from dbt_kickoff.engines import DbtEvent
from dbt_kickoff.errors import KickoffError

if TYPE_CHECKING:
    from dbt_kickoff.runner import PackageRunner

STATEFUL_METHODS = ("state:", "result:", "source_status:")


class NodeLister:
    """Lists the nodes of a criterion's selectors: on the good run's manifest when the code is unchanged
    (:class:`ManifestGraph`; ``always_build`` from the good run's answer when it was asked with the same files),
    otherwise with ``dbt ls``."""

    def __init__(self, runner: PackageRunner, state: State, code_unchanged: bool, fingerprint: str,
                 always_build: str | None, additional_vars: Mapping[str, Any] | None, dataset: str | None) -> None:
        self.runner, self.state, self.fingerprint = runner, state, fingerprint
        self.graph = ManifestGraph(state.manifest, state.rerun) if code_unchanged else None
        self.always_build = tuple(always_build.split()) if always_build else ()
        self.additional_vars, self.dataset = additional_vars, dataset
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
            listed = dbt_ls(self.runner, selectors, with_state, self.state, self.additional_vars, self.dataset)
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


def dbt_ls(runner: PackageRunner, selectors: Sequence[str], with_state: bool, state: State,
        additional_vars: Mapping[str, Any] | None, dataset: str | None) -> list[Listed]:
    nodes: list[Listed] = []

    def collect(event: DbtEvent) -> None:
        if event.name == "PrintEvent" and (node := parse_ls_line(event.message)) is not None:
            nodes.append(node)

    command = ["ls", "--select", *selectors]
    if with_state:
        command += ["--state", str(state.folder)]
    command += ["--output", "json", "--output-keys", "unique_id", "name", "resource_type", "depends_on"]
    outcome = runner._run_quietly(command, additional_vars=additional_vars, dataset=dataset, on_event=collect)
    if not outcome.success:
        raise KickoffError(runner._redact(outcome.error or "; ".join(outcome.errors[-3:]) or "dbt ls failed"))
    return nodes
