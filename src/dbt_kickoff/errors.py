"""Every error dbt-kickoff raises derives from :class:`KickoffError`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dbt_kickoff.results import NodeResult


class KickoffError(Exception):
    """Base class of all dbt-kickoff errors.

    ``exit_status`` is what the command line exits with: 2 for bad usage or configuration (the default),
    1 for a dbt or dbt Cloud job that ran and failed, was cancelled, or could not be waited for.
    """

    exit_status = 2


class PrerequisitesException(KickoffError):
    """Something needed before dbt can run is missing or wrong (dbt, adapter, package, destination...)."""


class ConfigurationError(PrerequisitesException):
    """The caller passed a value that cannot work; the message says which and how to fix it."""


class DBTProcessingError(KickoffError):
    """A dbt command failed. ``run_results`` holds every node result of that command."""

    exit_status = 1

    def __init__(self, command: str, run_results: Sequence[NodeResult], message: str) -> None:
        super().__init__(message)
        self.command = command
        self.run_results: list[NodeResult] = list(run_results)

    @property
    def failed_nodes(self) -> list[NodeResult]:
        return [r for r in self.run_results if r.is_failure]


class IncrementalSchemaOutOfSyncError(DBTProcessingError):
    """An incremental model's schema no longer matches its table and automatic full refresh is off."""


class DbtCancelled(KickoffError):
    """A dbt run was stopped before it finished: ``runner.cancel()``, a timeout, or a signal turned into a cancel.

    ``results`` holds the node results of what finished (earlier steps included), ``running`` the names of the
    nodes that were running when dbt was stopped, ``reason`` why it was stopped.
    """

    exit_status = 1

    def __init__(self, message: str, *, results: Sequence[NodeResult] = (), running: Sequence[str] = (),
                 reason: str | None = None, command: str | None = None) -> None:
        super().__init__(message)
        self.results: list[NodeResult] = list(results)
        self.running: list[str] = list(running)
        self.reason = reason
        self.command = command
