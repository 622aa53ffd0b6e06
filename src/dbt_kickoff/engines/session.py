"""``DbtSession``: the life of one runner's dbt engine — start, warm start, recycle, cancel, close — and the
generated profile folders that must go with it."""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from dbt_kickoff.engines.base import CancelToken, Engine, EventHandler, Invocation, InvocationOutcome
from dbt_kickoff.engines.factory import make_engine
from dbt_kickoff.environments import DbtEnvironment
from dbt_kickoff.profiles import ProfilesDir
from dbt_kickoff.redaction import Redactor

logger = logging.getLogger("dbt_kickoff.engine")


@dataclasses.dataclass(frozen=True)
class RecyclePolicy:
    """When a warm engine is replaced by a fresh one: after so many commands, or above so much memory."""

    after_commands: int | None = None
    above_memory_mb: float | None = None

    def due(self, engine: Engine, outcome: InvocationOutcome) -> bool:
        too_many = bool(self.after_commands) and engine.commands_run >= (self.after_commands or 0)
        too_big = bool(self.above_memory_mb and outcome.rss and outcome.rss > self.above_memory_mb * 2**20)
        return too_many or too_big


class DbtSession:
    """Owns one engine for a runner: made on first use for the project folder, restarted when that folder
    changes or the recycle policy says so, cancelled through a token per public call, and closed together
    with the generated ``profiles.yml`` folders."""

    def __init__(self, environment: DbtEnvironment, *, env: Mapping[str, str], redact: Redactor,
                 recycle: RecyclePolicy | None = None, cancel_grace: float = 10.0) -> None:
        self.environment = environment
        self.env = dict(env)
        self.redact = redact
        self.recycle = recycle or RecyclePolicy()
        self.cancel_grace = cancel_grace
        self.engine: Engine | None = None
        self.profiles: dict[str, ProfilesDir] = {}
        self._cwd: Path | None = None
        self._cwd_identity: tuple[int, int] | None = None
        self._token = CancelToken()
        self._warming: threading.Thread | None = None
        self._lock = threading.Lock()
        self._last_dbt_version: str | None = None

    @property
    def keeps_manifest(self) -> bool:
        return self.environment.engine == "worker"

    @property
    def dbt_version(self) -> str | None:
        """The version of dbt the engine runs (still known after the engine was closed)."""
        if self.engine is not None and self.engine.dbt_version:
            self._last_dbt_version = self.engine.dbt_version
        return self._last_dbt_version

    # -- cancel -------------------------------------------------------------------------------------------
    def begin(self) -> None:
        """A public call starts: cancel requests from now on apply to it."""
        self._token = CancelToken()

    def cancel(self, reason: str = "cancelled") -> None:
        """Stop the running command (SIGINT, grace, kill) and any later step of the current call. Returns at
        once; safe from any thread and from a signal handler."""
        self._token.cancel(reason)

    @property
    def cancel_reason(self) -> str | None:
        return self._token.reason

    # -- commands -----------------------------------------------------------------------------------------
    def execute(self, invocation: Invocation, on_event: EventHandler, *, cwd: Path) -> InvocationOutcome:
        engine = self._engine_for(cwd)
        outcome = engine.execute(dataclasses.replace(invocation, cancel_token=self._token), on_event)
        if self.recycle.due(engine, outcome):
            logger.info("recycling the dbt engine after %s command(s), %s MiB resident", engine.commands_run,
                        round((outcome.rss or 0) / 2**20))
            self.close_engine()
        return outcome

    def sources(self, invocation: Invocation, on_event: EventHandler, *, cwd: Path) -> list[dict[str, Any]]:
        engine = self._engine_for(cwd)
        return engine.sources(dataclasses.replace(invocation, cancel_token=self._token), on_event)

    def start(self, cwd: Path) -> Engine:
        """Start the engine for the project folder ``cwd`` now (its ``dbt_version`` is then known)."""
        engine = self._engine_for(cwd)
        engine.start()
        return engine

    def warm_up(self, cwd: Path) -> None:
        """Start the engine in the background (importing dbt overlaps the caller's own work)."""
        engine = self._engine_for(cwd, wait=False)

        def start() -> None:
            try:
                engine.start()
            except Exception as exc:  # the first command starts it again and reports the error properly
                logger.debug("warm start of dbt failed: %s", self.redact(str(exc)))

        with self._lock:
            self._warming = threading.Thread(target=start, name="dbt-kickoff-warm-start", daemon=True)
            self._warming.start()

    # -- life cycle ---------------------------------------------------------------------------------------
    def profiles_dir(self, key: str, make: Callable[[], ProfilesDir]) -> ProfilesDir:
        """The generated profiles folder for ``key`` (one per destination dataset), made on first use."""
        generated = self.profiles.get(key)
        if generated is None:
            generated = self.profiles[key] = make()
        return generated

    def drop_profiles(self) -> None:
        """Remove the generated profile folders (the destination changed); new ones are made on next use."""
        for generated in self.profiles.values():
            generated.cleanup()
        self.profiles.clear()

    def close_engine(self) -> None:
        """Close the engine; one still starting in the background (a warm start nobody used: a changed-only call
        that found nothing to do) is stopped at once instead of waited for."""
        with self._lock:
            warming, self._warming = self._warming, None
        self._last_dbt_version = self.dbt_version
        engine, self.engine = self.engine, None
        if engine is not None:
            engine.close()
        if warming is not None:
            warming.join()

    def release(self) -> None:
        """Stop the engine (a running command is cancelled first) and remove the generated profiles."""
        self.cancel("the runner was closed")
        self.close_engine()
        self.drop_profiles()

    def _engine_for(self, cwd: Path, wait: bool = True) -> Engine:
        if wait:
            self._finish_warm_up()
        folder = _folder_identity(cwd)
        if self.engine is not None and (cwd != self._cwd or folder != self._cwd_identity):
            self.close_engine()  # another folder, or the same path replaced (a git checkout cloned again)
        if self.engine is None:
            self.engine = make_engine(self.environment, cwd=cwd, env=self.env, redact=self.redact,
                                      cancel_grace=self.cancel_grace)
            self._cwd, self._cwd_identity = cwd, folder
        return self.engine

    def _finish_warm_up(self) -> None:
        with self._lock:
            warming, self._warming = self._warming, None
        if warming is not None:
            warming.join()


def _folder_identity(folder: Path) -> tuple[int, int] | None:
    """Device and inode of ``folder``: a running dbt process keeps the folder it started in as its working
    directory, so one replaced at the same path needs a new process."""
    try:
        status = folder.stat()
    except OSError:
        return None
    return status.st_dev, status.st_ino
