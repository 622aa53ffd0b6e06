"""The refs records are found by, from a record's identity (:class:`~dbt_kickoff.core.invocations.RecordIdentity`):
``refs/last-success-<state_key>`` names the last good run of the same package, target, vars and dbt version (what
changed-only builds look up); ``refs/last-<retry_key>`` the newest record of a package and target (what
``retry`` uses).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dbt_kickoff.core.invocations import RecordIdentity, narrows_nodes, short_hash

__all__ = ["LATEST_REF", "RecordIdentity", "is_complete", "last_complete_ref", "last_ref", "last_success_ref",
           "short_hash"]


def last_ref(retry_key: str) -> str:
    """The ref naming the newest record of a package and target: database, schema, dataset (any outcome)."""
    return f"last-{retry_key}"


def last_success_ref(state_key: str) -> str:
    """The ref naming the newest successful record of a package/target/vars/dbt version."""
    return f"last-success-{state_key}"


def last_complete_ref(state_key: str) -> str:
    """The ref naming the newest complete good run (what changed-only builds compare with; kept by pruning)."""
    return f"last-complete-{state_key}"


def is_complete(data: Mapping[str, Any]) -> bool:
    """A record (its ``report.json``) of a successful call that left every node of the package up to date: a
    ``build`` or ``run_all`` (changed-only or not) whose own dbt arguments leave no node out."""
    if data.get("outcome") != "success" or data.get("call") not in ("build", "run_all"):
        return False
    params: Mapping[str, Any] = data.get("params") or {}
    return not narrows_nodes([*(params.get("cmd_params") or ()), *(params.get("run_params") or ())])


LATEST_REF = "latest"
