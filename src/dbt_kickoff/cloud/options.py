"""The dbt Cloud room's option specs: what ``run_dbt_cloud_job``, ``get_dbt_cloud_run_status``, ``DbtCloud``,
``AsyncDbtCloud``, the clients and the Cloud shells (CLI, Airflow) accept (see :mod:`dbt_kickoff.validation`)."""

from __future__ import annotations

import types

from dbt_kickoff.validation import (
    COUNT,
    FLAG,
    FUNCTION,
    ID,
    MAPPING,
    PATH,
    TEXT,
    Number,
    RunReference,
    Specs,
    Strings,
    Text,
    option_table,
)

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
})

CLIENT_OPTIONS: Specs = types.MappingProxyType({"timeout": CLOUD_OPTIONS["http_timeout"]})
"""The clients' own: their ``timeout`` is the runners' ``http_timeout``."""
