"""The plain strategies, each a function of a :class:`~dbt_kickoff.core.call.Call`: one dbt command, ``run_all``,
and building what a load touched. (Changed-only builds and retry are features: ``dbt_kickoff.changed``,
``dbt_kickoff.records``.)"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence

from dbt_kickoff.core.call import Call, CallOutcome
from dbt_kickoff.core.plans import run_all_plan, run_plan
from dbt_kickoff.loaded import LoadedTable, source_selectors

logger = logging.getLogger("dbt_kickoff")


def single(call: Call, command: Sequence[str], *, full_refresh: bool = False) -> CallOutcome:
    """One dbt command as the call's only step."""
    return CallOutcome(call.step(list(command), full_refresh=full_refresh))


def run_all(call: Call, *, run_params: Sequence[str], source_tests_selector: str | None,
            full_refresh: bool) -> CallOutcome:
    """deps, seed, source tests, run, test (see :func:`~dbt_kickoff.core.plans.run_all_plan`)."""
    plan = run_all_plan(call.project, run_params=run_params, source_tests_selector=source_tests_selector,
                        full_refresh=full_refresh)
    return CallOutcome(run_plan(call, plan))


def transform_loaded(call: Call, tables: Collection[LoadedTable], *, command: str,
                     cmd_params: Sequence[str]) -> CallOutcome:
    """``command`` on what is downstream of the dbt sources that read ``tables``; nothing when none does."""
    selectors = source_selectors(tables, call.sources())
    if not selectors:
        logger.warning("no dbt source reads the loaded tables %s: dbt is not run",
                       ", ".join(sorted(map(str, tables))))
        return CallOutcome(skipped="no source reads the loaded tables")
    return CallOutcome(call.step([command, "--select", *selectors, *cmd_params]))
