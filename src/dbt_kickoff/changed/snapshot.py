"""The snapshot a full build keeps for the next changed-only call: a hook, before dbt starts."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from dbt_kickoff.core.call import Call, CallHooks
from dbt_kickoff.core.invocations import narrows_nodes, package_key
from dbt_kickoff.core.project import Project
from dbt_kickoff.records.store import RecordStore
from dbt_kickoff.reports import StepReport

logger = logging.getLogger("dbt_kickoff.changed")

FULL_BUILDS = {"build": "cmd_params", "run_all": "run_params"}
"""The calls that may bring every node up to date, and the parameter holding their own dbt arguments."""


def changed_only_flag(project: Project) -> str:
    """The store flag that says changed-only calls of this package ran (so full builds measure their sources)."""
    return f"changed-only-{package_key(project.location, project.name)}"


class SourcesSnapshot(CallHooks):
    """Before a full build that leaves a record: keep in it (``sources_before``) the project's other inputs
    (:func:`~dbt_kickoff.changed.inputs.inputs_now`: hashes of vars, env vars, large seeds) and, once changed-only
    calls of the package have run (a flag in the store), what its sources hold (dlt's loads, freshness, row
    counts), so that the next changed-only call rebuilds only what changed since. Best effort, without dbt: a
    package that never builds changed-only pays no warehouse round trip."""

    name = "sources' snapshot"

    def __init__(self, store: Callable[[Project], RecordStore | None]) -> None:
        self.store = store

    def before_dbt(self, call: Call) -> None:
        own_args = call.params.get(FULL_BUILDS.get(call.name, ""), None)
        if call.name not in FULL_BUILDS or call.params.get("changed_only") or narrows_nodes(own_args or ()):
            return
        store = self.store(call.project)
        if store is None:
            return
        from dbt_kickoff.changed.inputs import inputs_now
        from dbt_kickoff.changed.source_state import measure_sources_before

        snapshot: dict[str, Any] = {"inputs": inputs_now(call.project)}
        call.record_extras["sources_before"] = snapshot
        if not store.has_flag(changed_only_flag(call.project)):
            return  # the first changed-only call builds what reads the sources, then sets the flag
        try:
            measure_sources_before(call, snapshot)
        except Exception as exc:  # the next changed-only call then rebuilds what reads these sources
            logger.info("the sources' state was not recorded (%s)", call.redact(f"{type(exc).__name__}: {exc}"))

    def step_done(self, call: Call, step: StepReport) -> None:
        """``dbt deps`` changed the installed packages: the inputs are those the build reads from now on."""
        snapshot = call.record_extras.get("sources_before")
        if step.command == "deps" and isinstance(snapshot, dict):
            from dbt_kickoff.changed.inputs import inputs_now

            snapshot["inputs"] = inputs_now(call.project)
