"""Warm state: what makes dbt start fast, kept in the run records store so any machine starts warm.

A worker with an empty disk (a Kubernetes pod, a fresh orchestrator worker) would parse the whole project and run
``dbt deps`` against the hub or git. With ``records=`` on shared storage, the runner publishes after each call what
dbt parsed and installed, and restores it before dbt starts on a machine that lacks it:

- dbt's parse state (``partial_parse.msgpack``) under the key dbt itself checks before it accepts one
  (:mod:`~dbt_kickoff.warm.keys`), moved to the project's folder on this machine
  (:mod:`~dbt_kickoff.warm.relocate`): dbt parses only the files that differ;
- the ``manifest.json`` of exactly these files, for orchestrators to render without dbt
  (:func:`~dbt_kickoff.warm.definitions.current_manifest`);
- the installed packages (``dbt_packages/``) for the same declaration: ``dbt deps`` is skipped, offline too.

Layout and retention: :mod:`~dbt_kickoff.warm.store`; the hook: :mod:`~dbt_kickoff.warm.hook`.
``package(..., warm_state=False)`` turns it off.
"""

from __future__ import annotations

from dbt_kickoff.warm.definitions import current_manifest
from dbt_kickoff.warm.hook import WarmStateHook
from dbt_kickoff.warm.store import WarmEntry, WarmStore

__all__ = ["WarmEntry", "WarmStateHook", "WarmStore", "current_manifest"]
