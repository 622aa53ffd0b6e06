"""The Core runner's option specs: what :func:`~dbt_kickoff.package`, the ``PackageRunner`` methods and
:func:`~dbt_kickoff.cycles.iter_cycles` accept (see :mod:`dbt_kickoff.validation`)."""

from __future__ import annotations

from dbt_kickoff.validation import (
    ARGS,
    COUNT,
    FLAG,
    FUNCTION,
    MAPPING,
    PATH,
    SECONDS,
    TEXT,
    Choice,
    Number,
    PathLike,
    Strings,
    Text,
    option_table,
)

CORE_OPTIONS = option_table("core", {
    # package()
    "package_location": PathLike("a folder path or a git URL (str or os.PathLike)", optional=False),
    "package_repository_branch": TEXT,
    "package_repository_ssh_key": TEXT,
    "package_repository_token": TEXT,
    "dataset_name": TEXT,
    "source_dataset_name": TEXT,
    "profiles_dir": PATH,
    "profile_name": TEXT,
    "target": TEXT,
    "working_dir": PATH,
    "subdirectory": PATH,
    "auto_full_refresh_when_out_of_sync": FLAG,
    "allow_stale_package": FLAG,
    "reuse_manifest": FLAG,
    "threads": COUNT,
    "git_options": MAPPING,
    "command_timeout": SECONDS,
    "connect_timeout": SECONDS,
    "on_event": FUNCTION,
    "recycle_after_commands": COUNT,
    "recycle_above_memory_mb": Number("a finite number of MiB > 0", minimum=0, exclusive=True),
    "cancel_grace": Number("a finite number of seconds >= 0", optional=False, minimum=0),
    "warm_start": FLAG,
    # PackageRunner methods
    "run_params": ARGS,
    "cmd_params": Strings("a list of str (dbt arguments)", optional=False),
    "args": Strings("a non-empty list of str (a dbt command)", optional=False),
    "additional_vars": MAPPING,
    "source_tests_selector": TEXT,
    "destination_dataset_name": TEXT,
    "full_refresh": FLAG,
    "include_dlt_tables": FLAG,
    "changed_only": FLAG,
    "row_counts": FLAG,
    "always_build": Text("a non-empty dbt selector (e.g. 'tag:always' or 'model_a model_b')"),
    "command": Text("a dbt command name such as 'build'", optional=False),
    # iter_cycles()
    "every": Number("a finite number of seconds > 0", optional=False, minimum=0, exclusive=True),
    "transform": Choice("'build' or 'run_all'", optional=False, choices=("build", "run_all")),
    "only_loaded": FLAG,
    "max_cycles": COUNT,
    "overlap": Choice("'wait' or 'skip'", optional=False, choices=("wait", "skip")),
    "full_first_cycle": FLAG,
    "load": FUNCTION,
})
