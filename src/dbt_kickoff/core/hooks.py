"""Hooks: what observes a runner's calls plugs in at four named points, under one guard.

A hook is any object with some of these methods (subclass :class:`CallHooks` and override what you need):

- ``call_started(call)``: the call holds the package lock and has read the project; no dbt command ran yet.
- ``before_dbt(call)``: just before the call's first dbt command (not called when no dbt command runs).
- ``before_deps(call)``: the call needs the package's dbt packages and they are not installed: a hook may put
  them in place (warm state restores them from the run records store); ``dbt deps`` runs when they are still
  missing afterwards.
- ``step_done(call, step)``: a dbt command of the call finished (its artifacts are still in the target folder).
- ``call_finished(call, error)``: the call ended, however it ended (``error`` is ``None`` on success).

The guard: an observer never fails the run. A hook that raises is reported once, as a warning, and is not called
again during that call; the call goes on and its outcome stands.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dbt_kickoff.core.call import Call
    from dbt_kickoff.reports import StepReport

logger = logging.getLogger("dbt_kickoff")

HOOK_POINTS = ("call_started", "before_dbt", "before_deps", "step_done", "call_finished")


class CallHooks:
    """An observer of calls; every point does nothing unless overridden. ``name`` appears in the warning a
    failing hook leaves."""

    name = "hook"

    def call_started(self, call: Call) -> None:
        """The call started (lock held, project read), before any dbt command."""

    def before_dbt(self, call: Call) -> None:
        """The call is about to run its first dbt command."""

    def before_deps(self, call: Call) -> None:
        """The call needs the package's dbt packages and they are not installed (``dbt deps`` comes next unless
        a hook installs them)."""

    def step_done(self, call: Call, step: StepReport) -> None:
        """A dbt command of the call finished."""

    def call_finished(self, call: Call, error: BaseException | None) -> None:
        """The call ended (``error`` is what it raised, ``None`` on success)."""


class HookRunner:
    """Calls the hooks of one call in order, each under the guard (see the module docstring)."""

    def __init__(self, hooks: Iterable[Any], redact: Callable[[str], str]) -> None:
        self.hooks = list(hooks)
        self.redact = redact
        self._failed: set[int] = set()

    def __call__(self, point: str, *args: Any) -> None:
        for index, hook in enumerate(self.hooks):
            method = getattr(hook, point, None)
            if method is None or index in self._failed:
                continue
            try:
                method(*args)
            except Exception as exc:
                self._failed.add(index)
                name = getattr(hook, "name", type(hook).__name__)
                logger.warning("the %s could not do its work (the run itself is not affected): %s", name,
                               self.redact(f"{type(exc).__name__}: {exc}"))
