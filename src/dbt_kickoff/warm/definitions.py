"""The manifest an orchestrator renders its assets or tasks from, found without starting dbt."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import cache
from typing import Any

from dbt_kickoff.core.call import Call
from dbt_kickoff.records.store import RecordStore
from dbt_kickoff.warm import packages, parse_state
from dbt_kickoff.warm.bundle import UnusableEntry
from dbt_kickoff.warm.keys import dbt_major, packages_key, parse_state_key
from dbt_kickoff.warm.store import WarmStore

logger = logging.getLogger("dbt_kickoff.warm")


def current_manifest(call: Call, records: Callable[[], RecordStore | None]) -> dict[str, Any] | None:
    """dbt's ``manifest.json`` for the call's package files as they are now, profile, vars and dbt version: the
    one dbt wrote in the target folder, else the one published in the run records store (``records()``, opened
    only when needed: a remote store's client takes a second to import); ``None`` when neither exists (then only
    dbt can make it). The installed packages count among the files: when the package declares packages that are
    not installed, the stored ones are put in place first (no dbt either)."""
    version = call.identity(start_dbt=False).dbt_version
    if dbt_major(version) != 1 or version is None:
        return None
    key = parse_state_key(call, version)
    if key is None:
        return None

    @cache
    def opened() -> WarmStore | None:
        found = records()
        return WarmStore(found) if found is not None else None

    project = call.project
    store = opened() if project.has_package_dependencies and not project.dependencies_installed() else None
    if store is not None:
        declared = packages_key(project, version)
        try:
            if declared is not None and packages.restore(call, store, declared) is not None:
                project.files_changed()
                logger.info("warm state: dbt packages restored from %s", store.uri(store.packages_path(declared)))
        except UnusableEntry as exc:
            logger.warning("warm state: the stored packages %s are not used: %s",
                           store.uri(store.packages_path(declared or "")), exc)
    fingerprint = project.fingerprint
    found = parse_state.local_manifest(call.target_dir, key, fingerprint)
    if found is None and (store := opened()) is not None:
        found = parse_state.stored_manifest(store, key, fingerprint)
        if found is not None:
            logger.info("warm state: manifest read from %s", store.uri(store.manifest_path(key, fingerprint)))
    return found
