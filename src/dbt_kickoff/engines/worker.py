"""The warm worker engine: one long-lived dbt process per runner, dbt imported once, commands over a pipe."""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from dbt_kickoff.engines.base import (
    EventHandler,
    Invocation,
    InvocationOutcome,
    OutcomeCollector,
    event_from_wire,
    worker_script_path,
)
from dbt_kickoff.errors import DbtCancelled, KickoffError, PrerequisitesException
from dbt_kickoff.redaction import Redactor

logger = logging.getLogger("dbt_kickoff.engine")
dbt_logger = logging.getLogger("dbt_kickoff.dbt")

_EOF = object()


class WorkerCrashed(KickoffError):
    """The dbt worker process ended while a command was running."""


class WorkerEngine:
    """Runs dbt through ``dbtRunner`` in a child process started with ``python`` (the target environment).

    Started lazily, kept warm between commands, restarted after a crash or a cancel, and killed on close.
    """

    def __init__(
        self,
        python: Path,
        *,
        cwd: Path,
        env: Mapping[str, str],
        redact: Redactor | None = None,
        startup_timeout: float = 300.0,
        cancel_grace: float = 10.0,
        description: str = "",
    ) -> None:
        self.python = Path(python)
        self.cwd = cwd
        self.env = dict(env)
        self.redact = redact or Redactor()
        self.startup_timeout = startup_timeout
        self.cancel_grace = cancel_grace
        self.description = description or str(python)
        self.dbt_version: str | None = None
        self.commands_run = 0
        self.last_rss: int | None = None
        self._process: subprocess.Popen[str] | None = None
        self._messages: queue.Queue[Any] = queue.Queue()
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=60)
        self._next_id = 0
        self._stderr_pump: threading.Thread | None = None

    # -- life cycle -------------------------------------------------------------------------------------------
    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self.alive and self._process else None

    def start(self) -> None:
        if self.alive:
            return
        if not self.python.exists():
            raise PrerequisitesException(
                f"the Python interpreter {self.python} for dbt does not exist (was the virtual environment "
                "deleted?); call dbt_kickoff.get_venv() again to recreate it, and pass the new venv"
            )
        self._messages = queue.Queue()
        self._stderr_tail.clear()
        started = time.perf_counter()
        self._process = subprocess.Popen(
            [str(self.python), "-X", "utf8", str(worker_script_path())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=self.cwd,
            env=self.env,
            text=True,
            encoding="utf-8",
            errors="replace",
            start_new_session=True,  # a Ctrl-C in the terminal reaches us, and we decide what the worker gets
        )
        threading.Thread(target=self._pump_stdout, args=(self._process.stdout,), daemon=True).start()
        self._stderr_pump = threading.Thread(target=self._pump_stderr, args=(self._process.stderr,), daemon=True)
        self._stderr_pump.start()
        message = self._next_message(deadline=time.monotonic() + self.startup_timeout, waiting_for="start-up")
        if message.get("type") == "fatal":
            self._reap()
            raise PrerequisitesException(
                f"dbt cannot be imported in {self.description}: {self.redact(message.get('error'))}. "
                "Install dbt-core with your adapter there (for example: pip install 'dbt-core>=1.8,<1.12' "
                "dbt-duckdb), or let dbt-kickoff make an isolated one: dbt_kickoff.get_venv(destination)."
            )
        if message.get("type") != "ready":
            self._reap()
            raise WorkerCrashed(f"dbt worker sent an unexpected first message: {message.get('type')!r}")
        self.dbt_version = message.get("dbt_version")
        logger.debug(
            "dbt worker pid %s ready in %.2fs (dbt %s, %s)",
            message.get("pid"), time.perf_counter() - started, self.dbt_version, self.description,
        )

    def close(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            try:
                assert process.stdin is not None
                process.stdin.write(json.dumps({"op": "exit"}) + "\n")
                process.stdin.flush()
                process.wait(timeout=5)
            except (OSError, ValueError, subprocess.TimeoutExpired):
                process.kill()
                process.wait()
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    # -- commands ---------------------------------------------------------------------------------------------
    def execute(self, invocation: Invocation, on_event: EventHandler) -> InvocationOutcome:
        collector = OutcomeCollector(on_event)
        started = time.monotonic()
        request = {"op": "invoke", "args": list(invocation.args)}
        reply = self._request(request, invocation, collector, waiting_for=f"dbt {invocation.args[0]}")
        error = reply.get("error")
        return collector.outcome(
            bool(reply["success"]), self.redact(error) if error else None, time.monotonic() - started,
            invocation_id=reply.get("invocation_id"), parsed=bool(reply.get("parsed")), rss=reply.get("rss"),
        )

    def sources(self, invocation: Invocation, on_event: EventHandler) -> list[dict[str, Any]]:
        """The project's sources (unique_id, source_name, name, schema, identifier, database) from the
        manifest of ``invocation.manifest_key`` (parsed with ``invocation.parse_args`` when not cached)."""
        reply = self._request({"op": "sources"}, invocation, OutcomeCollector(on_event), waiting_for="dbt parse")
        if not reply["success"]:
            raise KickoffError(self.redact(reply.get("error")) or "dbt could not parse the project")
        return list(reply["sources"])

    def _request(self, request: dict[str, Any], invocation: Invocation, collector: OutcomeCollector,
                 waiting_for: str) -> dict[str, Any]:
        """Send one request and stream its events to ``collector`` until its reply arrives."""
        if self.alive and not self.python.exists():  # the environment went away under a warm worker
            self.close()
        self.start()
        assert self._process is not None and self._process.stdin is not None
        self._next_id += 1
        request = {**request, "id": self._next_id}
        if invocation.manifest_key:
            request.update(manifest_key=invocation.manifest_key, parse_args=list(invocation.parse_args))
        deadline = time.monotonic() + invocation.timeout if invocation.timeout else None
        try:
            self._process.stdin.write(json.dumps(request) + "\n")
            self._process.stdin.flush()
        except (BrokenPipeError, OSError):
            self._reap()
            raise WorkerCrashed(f"the dbt worker is gone: {self._stderr_text()}") from None
        try:
            while True:
                message = self._next_message(deadline=deadline, waiting_for=waiting_for)
                if message.get("id") != request["id"]:
                    continue
                if message["type"] == "event":
                    collector(event_from_wire(message, self.redact))
                elif message["type"] == "done":
                    self.commands_run += 1
                    self.last_rss = message.get("rss")
                    return message
        except _Timeout:
            self.cancel(reason=f"timed out after {invocation.timeout}s")
            raise DbtCancelled(f"{waiting_for} timed out after {invocation.timeout}s and was stopped") from None
        except KeyboardInterrupt:
            self.cancel(reason="interrupted")
            raise

    def cancel(self, reason: str = "cancelled") -> None:
        """Stop the running command: SIGINT, a grace period for dbt to close connections, then SIGKILL."""
        process = self._process
        if process is None or process.poll() is not None:
            return
        logger.warning("stopping dbt worker pid %s: %s", process.pid, reason)
        try:
            os.kill(process.pid, signal.SIGINT)
            process.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            # dbt catches the interrupt and reports the command as failed; the worker stays up until told to go
            try:
                process.wait(timeout=self.cancel_grace)
            except subprocess.TimeoutExpired:
                process.kill()
        except ProcessLookupError:
            pass
        self.close()

    # -- plumbing ---------------------------------------------------------------------------------------------
    def _pump_stdout(self, stream: IO[str]) -> None:
        for line in stream:
            try:
                self._messages.put(json.loads(line))
            except json.JSONDecodeError:
                dbt_logger.debug("worker: %s", self.redact(line.rstrip()))
        self._messages.put(_EOF)

    def _pump_stderr(self, stream: IO[str]) -> None:
        for line in stream:
            text = self.redact(line.rstrip())
            self._stderr_tail.append(text)
            dbt_logger.debug("%s", text)

    def _stderr_text(self) -> str:
        if self._stderr_pump is not None:
            self._stderr_pump.join(timeout=2)
        return "\n".join(self._stderr_tail) or "(no output)"

    def _next_message(self, deadline: float | None, waiting_for: str) -> dict[str, Any]:
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise _Timeout()
            try:
                message = self._messages.get(timeout=min(remaining, 1.0) if remaining is not None else 1.0)
            except queue.Empty:
                if self._process is not None and self._process.poll() is not None and self._messages.empty():
                    message = _EOF
                else:
                    continue
            if message is _EOF:
                code = self._process.poll() if self._process else None
                self._reap()
                raise WorkerCrashed(
                    f"the dbt worker ({self.description}) exited with code {code} during {waiting_for}:\n"
                    f"{self._stderr_text()}"
                )
            return message

    def _reap(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                process.kill()
            process.wait()


class _Timeout(Exception):
    pass
