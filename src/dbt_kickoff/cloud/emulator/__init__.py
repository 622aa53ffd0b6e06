"""The dbt Cloud emulator under its documented name: a re-export of the ``dbt_kickoff_emulator`` package.

The emulator is a package of its own (it imports nothing from dbt-kickoff), installed by the ``emulator`` extra:
``pip install 'dbt-kickoff[emulator]'``. Without it, importing this module raises :class:`EmulatorNotInstalled`,
both an :class:`ImportError` and a :class:`~dbt_kickoff.errors.ConfigurationError`, saying so.
"""

from __future__ import annotations

from dbt_kickoff.errors import ConfigurationError


class EmulatorNotInstalled(ConfigurationError, ImportError):
    """The ``dbt-kickoff-emulator`` distribution is not installed."""


try:
    from dbt_kickoff_emulator import (
        ROUTES,
        Clock,
        DbtCloudEmulator,
        FakeClock,
        FaultRule,
        Faults,
        RateLimit,
        RealClock,
        RecordedRequest,
        RunScript,
        serve,
    )
except ModuleNotFoundError as missing:
    if missing.name != "dbt_kickoff_emulator":
        raise
    raise EmulatorNotInstalled(
        "the dbt Cloud emulator is not installed: pip install 'dbt-kickoff[emulator]'", name=missing.name
    ) from None

__all__ = [
    "ROUTES",
    "Clock",
    "DbtCloudEmulator",
    "EmulatorNotInstalled",
    "FakeClock",
    "FaultRule",
    "Faults",
    "RateLimit",
    "RealClock",
    "RecordedRequest",
    "RunScript",
    "serve",
]
