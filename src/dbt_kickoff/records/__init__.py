"""Run records: one folder per runner call with dbt's artifacts and ``report.json`` (local or fsspec URL).

The input of ``dbt-kickoff report`` (HTML), ``retry`` and changed-only builds (the last good record of the
same package, target, vars and dbt version is dbt's ``--state``:
``last_successful_record(runner.records_store(), runner.record_identity(vars))``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dbt_kickoff.records.identity import RecordIdentity
from dbt_kickoff.records.reading import (
    Record,
    RecordIncomplete,
    RecordNotFound,
    last_record,
    last_successful_record,
    latest_record,
    load_record,
    open_record,
)
from dbt_kickoff.records.recorder import DEFAULT_KEEP_LAST, RecordSettings, default_records_root, prune
from dbt_kickoff.records.store import RecordStore

__all__ = [
    "DEFAULT_KEEP_LAST",
    "Record",
    "RecordIdentity",
    "RecordIncomplete",
    "RecordNotFound",
    "RecordSettings",
    "RecordStore",
    "default_records_root",
    "identity_for",
    "last_record",
    "last_successful_record",
    "latest_record",
    "load_record",
    "open_record",
    "prune",
    "store_for",
]


def store_for(runner: Any) -> RecordStore | None:
    """``runner.records_store()``: where a :class:`~dbt_kickoff.PackageRunner` writes its records."""
    return runner.records_store()


def identity_for(runner: Any, additional_vars: Mapping[str, Any] | None = None,
                 destination_dataset_name: str | None = None) -> RecordIdentity:
    """``runner.record_identity(...)``: the identity a call of a :class:`~dbt_kickoff.PackageRunner` records."""
    return runner.record_identity(additional_vars, destination_dataset_name)
