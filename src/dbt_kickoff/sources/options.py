"""The sources room's option specs: the ``git_options`` of a git package (see :mod:`dbt_kickoff.validation`)."""

from __future__ import annotations

from dbt_kickoff.validation import PATH, SECONDS_OR_ZERO, TEXT, Choice, Number, option_table

GIT_OPTIONS = option_table("sources", {
    "username": TEXT,
    "known_hosts": PATH,
    "host_key_policy": Choice("'strict' or 'accept-new'", optional=False, choices=("strict", "accept-new")),
    "timeout": Number("a number of seconds >= 0 (inf: no limit)", minimum=0, infinite=True),
    "lock_timeout": SECONDS_OR_ZERO,
})
