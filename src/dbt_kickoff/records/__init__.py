"""Run records: one folder per runner call with dbt's artifacts and ``report.json`` (local or fsspec URL).

The input of ``dbt-kickoff report`` (HTML), ``retry`` and changed-only builds (the last good record of the
same package, target, vars and dbt version is dbt's ``--state``:
``last_successful_record(store_for(runner), identity_for(runner, vars))``).
"""

from dbt_kickoff.records.hook import identity_for, store_for
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
