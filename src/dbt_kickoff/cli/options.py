"""The command line's own option specs: flags with no Python API option behind them (see
:mod:`dbt_kickoff.validation`; the other flags use their room's specs)."""

from __future__ import annotations

from dbt_kickoff.validation import COUNT, Number, option_table

CLI_OPTIONS = option_table("cli", {
    "port": Number("a whole number in 0..65535", optional=False, minimum=0, maximum=65535, integer=True),
    "older_than_days": Number("a finite number of days >= 0", optional=False, minimum=0),
    "limit": COUNT,
})
