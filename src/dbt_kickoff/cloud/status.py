"""Run status codes of the dbt Cloud v2 API."""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum
from typing import Any


class RunStatus(IntEnum):
    """The integer ``status`` of a dbt Cloud run (and of its steps)."""

    QUEUED = 1
    STARTING = 2
    RUNNING = 3
    SUCCESS = 10
    ERROR = 20
    CANCELLED = 30

    @property
    def is_terminal(self) -> bool:
        return self in (RunStatus.SUCCESS, RunStatus.ERROR, RunStatus.CANCELLED)

    @property
    def humanized(self) -> str:
        return self.name.capitalize()

    @classmethod
    def of(cls, run: Mapping[str, Any]) -> RunStatus:
        """The status of a run (or step) dict; decided on the integer ``status``, never on the flags."""
        return cls(int(run["status"]))


IN_PROGRESS = (RunStatus.QUEUED, RunStatus.STARTING, RunStatus.RUNNING)
