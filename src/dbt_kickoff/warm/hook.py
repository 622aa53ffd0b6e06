"""Where calls meet warm state: the hook that restores before dbt and publishes after.

- ``before_dbt``: the target folder gets the stored parse state of the call's key when it has none of its own
  for that key (moved to this project's folder; see :mod:`~dbt_kickoff.warm.relocate`).
- ``before_deps``: the call needs the package's dbt packages and they are not installed: the stored ones for the
  same declaration are put in place and ``dbt deps`` is skipped.
- ``step_done``: after the first parse, dbt's own log lines say whether it used the restored state; when it did
  not, one warning says why (dbt parsed the whole project: nothing fails).
- ``call_finished``: what dbt installed (``dbt deps`` ran) and parsed (a new state and manifest) is published,
  then each kind is pruned to the records' ``keep_last``.

Nothing here fails a run: every problem is one warning, and dbt then does what it does without warm state.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import cached_property

from dbt_kickoff.core.call import Call, CallHooks
from dbt_kickoff.core.invocations import PACKAGE_FREE_COMMANDS, package_key
from dbt_kickoff.records.recorder import RecordSettings
from dbt_kickoff.reports import StepReport, WarmStateSummary
from dbt_kickoff.warm import packages, parse_state
from dbt_kickoff.warm.bundle import UnusableEntry
from dbt_kickoff.warm.keys import dbt_major, packages_key, parse_state_key
from dbt_kickoff.warm.store import WarmStore

logger = logging.getLogger("dbt_kickoff.warm")


class WarmStateHook(CallHooks):
    """Keeps a package's warm state in its run records store (see the module docstring)."""

    name = "warm state"

    def __init__(self, settings: RecordSettings) -> None:
        self.settings = settings
        self._calls: dict[int, CallWarmth] = {}

    def call_started(self, call: Call) -> None:
        project = call.project
        records = self.settings.store(project.name, package_key(project.location, project.name))
        self._calls[id(call)] = CallWarmth(call, WarmStore(records), self.settings.keep_last)

    def before_dbt(self, call: Call) -> None:
        warmth = self._calls.get(id(call))
        if warmth is not None:
            warmth.before_dbt()

    def before_deps(self, call: Call) -> None:
        warmth = self._calls.get(id(call))
        if warmth is not None:
            warmth.restore_packages()

    def step_done(self, call: Call, step: StepReport) -> None:
        warmth = self._calls.get(id(call))
        if warmth is not None:
            warmth.step_done(step)

    def call_finished(self, call: Call, error: BaseException | None) -> None:
        warmth = self._calls.pop(id(call), None)
        if warmth is not None:
            warmth.finish()


class CallWarmth:
    """Warm state for one call: its keys (computed once, before ``dbt deps`` may change the declaration's lock
    file), what was restored, and what to publish when it ends."""

    def __init__(self, call: Call, store: WarmStore, keep_last: int | None) -> None:
        self.call = call
        self.store = store
        self.keep_last = keep_last
        self.since = call.started_at.timestamp()
        self.summary = WarmStateSummary(source=store.uri(""))
        self.restored: parse_state.RestoredState | None = None
        self.deps_installed = False
        self._log_offset = 0

    # -- keys (each computed once) -----------------------------------------------------------------------------
    @cached_property
    def dbt_version(self) -> str | None:
        version = self.call.identity(start_dbt=False).dbt_version
        if version is None:
            logger.debug("warm state is not used: the dbt version cannot be told before dbt starts")
        return version

    @cached_property
    def parse_key(self) -> str | None:
        """The parse-state key (``None``: warm parse state does not apply: no dbt v1 known, or no key)."""
        version = self.dbt_version
        return parse_state_key(self.call, version) if version is not None and dbt_major(version) == 1 else None

    @cached_property
    def packages_key(self) -> str | None:
        """The packages key, taken before ``dbt deps`` may rewrite ``package-lock.yml``."""
        version = self.dbt_version
        return packages_key(self.call.project, version) if version else None

    # -- points -----------------------------------------------------------------------------------------------
    def before_dbt(self) -> None:
        if self.call.project.has_package_dependencies:
            self._guard("read the package's declaration", lambda: self.packages_key)
        self._guard("restore dbt's parse state", self.restore_parse_state)

    def restore_parse_state(self) -> None:
        key = self.parse_key
        if key is None or not parse_state.wants_restore(self.call.target_dir, key):
            return
        started = time.perf_counter()
        try:
            restored = parse_state.restore(self.call, self.store, key)
        except UnusableEntry as exc:
            self._ignored("parse state", self.store.parse_path(key), exc)
            return
        if restored is None:
            logger.debug("warm state: no parse state in %s for this package, target, vars and dbt version",
                         self.store.uri(""))
            return
        self.restored = restored
        log = self.call.project.log_file
        self._log_offset = log.stat().st_size if log.is_file() else 0
        self._restored("parse state", time.perf_counter() - started)
        logger.info("warm state: dbt's parse state restored from %s (published %s)", restored.uri,
                    restored.meta.get("published_at"))

    def restore_packages(self) -> None:
        def restore() -> None:
            key = self.packages_key
            if key is None:
                return
            started = time.perf_counter()
            try:
                uri = packages.restore(self.call, self.store, key)
            except UnusableEntry as exc:
                self._ignored("packages", self.store.packages_path(key), exc)
                return
            if uri is None:
                logger.debug("warm state: no installed packages in %s for this declaration", self.store.uri(""))
                return
            self._restored("packages", time.perf_counter() - started)
            logger.info("warm state: dbt packages restored from %s (dbt deps skipped)", uri)

        self._guard("restore the dbt packages", restore)

    def step_done(self, step: StepReport) -> None:
        if step.command == "deps" and step.success:
            self.deps_installed = True
        elif step.command not in PACKAGE_FREE_COMMANDS:
            self._guard("read dbt's log", self._read_verdict)

    def finish(self) -> None:
        self._guard("read dbt's log", self._read_verdict)
        if self.call.report.outcome in ("cancelled", "timeout"):
            return  # dbt may have been stopped while writing its files
        published: list[str] = []
        if self.deps_installed:
            self._guard("publish the dbt packages", lambda: published.extend(self._publish_packages()))
        self._guard("publish dbt's parse state", lambda: published.extend(self._publish_parse_state()))
        if published and self.keep_last is not None:
            self._guard("prune the warm state", lambda: self.store.prune(self.keep_last or 0))

    # -- internals ----------------------------------------------------------------------------------------------
    def _read_verdict(self) -> None:
        if self.restored is None or self.summary.partial_parse is not None:
            return
        log = self.call.project.log_file
        if not log.is_file():
            return
        with log.open("rb") as handle:
            handle.seek(self._log_offset if self._log_offset <= log.stat().st_size else 0)
            text = handle.read().decode("utf-8", errors="replace")
        found = parse_state.verdict(text)
        if found is None:
            return
        self.summary.partial_parse = found
        if found != "accepted":
            logger.warning("warm state: dbt did not use the parse state restored from %s (%s): it parsed the whole "
                           "project", self.restored.uri, found)

    def _publish_packages(self) -> list[str]:
        key = self.packages_key
        if key is None:
            return []
        why_not = packages.publishable(self.call)
        if why_not is not None:
            logger.info("warm state: the installed dbt packages are not published: %s", why_not)
            return []
        logger.info("warm state: dbt packages published to %s", packages.publish(self.call, self.store, key))
        return ["packages"]

    def _publish_parse_state(self) -> list[str]:
        key = self.parse_key
        if key is None:
            return []
        stamp = parse_state.note_parse(self.call, key, self.since, self.restored)
        if stamp is None or stamp.published:
            return []
        if not parse_state.publish(self.call, self.store, stamp):
            logger.warning("warm state: dbt's parse state is not published: it holds a secret of the runner")
            return []
        logger.info("warm state: dbt's parse state and manifest published to %s",
                    self.store.uri(self.store.parse_path(key)))
        return ["parse state"]

    def _restored(self, what: str, seconds: float) -> None:
        self.summary.restored.append(what)
        self.summary.seconds[what] = seconds
        self.call.report.warm_state = self.summary

    def _ignored(self, what: str, path: str, reason: Exception) -> None:
        self.summary.ignored.append(f"{what}: {reason}")
        self.call.report.warm_state = self.summary
        logger.warning("warm state: the stored %s %s is not used: %s", what, self.store.uri(path), reason)

    def _guard(self, action: str, work: Callable[[], object]) -> None:
        try:
            work()
        except Exception as exc:
            logger.warning("warm state could not %s (the run itself is not affected): %s", action,
                           self.call.redact(f"{type(exc).__name__}: {exc}"))
