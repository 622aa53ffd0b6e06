"""The dbt Cloud room's option specs: what ``run_dbt_cloud_job``, ``get_dbt_cloud_run_status``, ``DbtCloud``,
``AsyncDbtCloud``, the clients and the Cloud shells (CLI, Airflow) accept (see :mod:`dbt_kickoff.validation`)."""

from __future__ import annotations

import dataclasses
import os
import types
from typing import Any

from dbt_kickoff.validation import (
    COUNT,
    FLAG,
    FUNCTION,
    ID,
    MAPPING,
    PATH,
    TEXT,
    Number,
    PathLike,
    RunReference,
    Spec,
    Specs,
    Strings,
    Text,
    option_table,
)


@dataclasses.dataclass(frozen=True)
class RecordsLocation(PathLike):
    """Where run records go: a folder or fsspec URL, ``True``/``None`` for the default folder, ``False`` for none."""

    def _check(self, option: str, value: Any) -> Any:
        return value if isinstance(value, bool) else super()._check(option, value)


@dataclasses.dataclass(frozen=True)
class RecordReference(Spec):
    """A run record: a :class:`~dbt_kickoff.records.Record`, or its folder, URL or name."""

    def _check(self, option: str, value: Any) -> Any:
        if hasattr(value, "data") and hasattr(value, "uri"):
            return value
        if not isinstance(value, (str, os.PathLike)) or not os.fspath(value).strip():
            raise self.error(option, value)
        return value


SECONDS_ABOVE_ZERO = Number("a finite number of seconds > 0", optional=False, minimum=0, exclusive=True)
WAIT_TIMEOUT = Number("a number of seconds >= 0 (inf: no limit)", minimum=0, infinite=True)

CLOUD_OPTIONS = option_table("cloud", {
    "job_id": ID,
    "run_id": ID,
    "account_id": ID,
    "data": MAPPING,
    "wait_for_outcome": FLAG,
    "wait": FLAG,
    "wait_seconds": SECONDS_ABOVE_ZERO,
    "poll_interval": SECONDS_ABOVE_ZERO,
    "timeout": WAIT_TIMEOUT,
    "http_timeout": SECONDS_ABOVE_ZERO,
    "cancel_on_timeout": FLAG,
    "raise_on_failure": FLAG,
    "idempotency_key": TEXT,
    "attach_to_running": FLAG,
    "rerun_from_failure": FLAG,
    "on_poll": FUNCTION,
    "cancel_on_stop": FLAG,
    "just_triggered": FLAG,
    "run": RunReference("a dbt Cloud run id (a positive whole number or a str of digits) or a run dict with its "
                        "'id'", optional=False),
    "include_related": Strings("a list of str (related objects, e.g. ['run_steps'])"),
    "project_name": Text("a non-empty str (a dbt Cloud project name)", optional=False),
    "environment_name": Text("a non-empty str (a dbt Cloud environment name)", optional=False),
    "job_name": Text("a non-empty str (a dbt Cloud job name)", optional=False),
    "step": COUNT,
    "paths": Strings("a list of str (artifact paths)"),
    "include_compiled": FLAG,
    "state_dir": PATH,
    "on_event": FUNCTION,
    "fail_fast": FLAG,
    "records": RecordsLocation("a folder or fsspec URL (str or os.PathLike), True, or False for no records"),
    "keep_last": COUNT,
    "records_options": MAPPING,
    "record": RecordReference("a run record (a Record, or its folder, URL or name)"),
})

CLIENT_OPTIONS: Specs = types.MappingProxyType({"timeout": CLOUD_OPTIONS["http_timeout"]})
"""The clients' own: their ``timeout`` is the runners' ``http_timeout``."""
