"""Number checks of the dbt Cloud options, done before any request so a bad value never starts a run."""

from __future__ import annotations

import math
from typing import Any

from dbt_kickoff.errors import ConfigurationError


def check_seconds(
    option: str, value: Any, *, allow_none: bool = False, allow_zero: bool = True, allow_inf: bool = False
) -> float:
    """``value`` as seconds, or :class:`ConfigurationError` naming ``option``.

    Rejects non-numbers (``bool`` and strings included), NaN, negative values, zero unless ``allow_zero``
    and infinity unless ``allow_inf``. ``None`` is only accepted with ``allow_none`` (returned as ``inf``).
    """
    if value is None and allow_none:
        return math.inf
    limit = "a number of seconds"
    if not allow_zero:
        limit = "a positive number of seconds"
    if allow_none:
        limit += ", or None for no limit"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigurationError(f"{option} must be {limit}, got {value!r} ({type(value).__name__})")
    number = float(value)
    if math.isnan(number):
        raise ConfigurationError(f"{option} must be {limit}, got NaN")
    if math.isinf(number) and not (allow_inf and number > 0):
        raise ConfigurationError(f"{option} must be {limit}, got {number}")
    if number < 0 or (number == 0 and not allow_zero):
        raise ConfigurationError(f"{option} must be {limit}, got {value!r}")
    return number


def check_wait_options(poll_interval: Any, timeout: Any) -> tuple[float, float | None]:
    """The poll interval (``wait_seconds``, > 0) and the wait ``timeout`` (≥ 0, ``None``/inf: no limit)."""
    interval = check_seconds("poll interval (wait_seconds)", poll_interval, allow_zero=False)
    limit = check_seconds("timeout", timeout, allow_none=True, allow_inf=True)
    return interval, None if math.isinf(limit) else limit
