"""The warm worker engine: one long-lived dbt process per runner, dbt imported once, commands over a pipe."""

from __future__ import annotations

import collections
import contextlib
import json
import logging
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
    cancel_listener,
    event_from_wire,
    worker_script_path,
)
from dbt_kickoff.errors import KickoffError, PrerequisitesException
from dbt_kickoff.processes import kill_process, send_signal, stop_process
from dbt_kickoff.redaction import Redactor

logger = logging.getLogger("dbt_kickoff.engine")
dbt_logger = logging.getLogger("dbt_kickoff.dbt")

_EOF = object()
_POLL_SECONDS = 0.1
_DRAIN_SECONDS = 10.0  # how long an exited worker's output may take to arrive


class WorkerCrashed(KickoffError):
    """The dbt worker process could not start, or ended outside a command."""


class WorkerEngine:
    """Runs dbt through ``dbtRunner`` in a child process started with ``python`` (the target environment).

    Started lazily, kept warm between commands, restarted after a crash or a cancel, and stopped on close.
    The worker runs in its own session (a Ctrl-C or a process-group signal reaches the host, which decides)
    and watches its parent: if the host dies, the worker cancels its command's queries and exits.
    """

    keeps_manifest = True

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
        self._starting = False
        self._messages: queue.Queue[Any] = queue.Queue()
        self._exit_seen: float | None = None  # when the worker was first seen to have exited
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=60)
        self._next_id = 0
        self._stdout_pump: threading.Thread | None = None
        self._stderr_pump: threading.Thread | None = None
        # cancel state: written by cancel() (any thread, signal handlers), read by the waiting thread
        self._lock = threading.RLock()
        self._waiting_thread: int | None = None
        self._cancel_reason: str | None = None
        self._kill_at: float | None = None
        self._in_flight = False  # the request was sent: SIGINT now reaches dbt, not the worker's start-up
        self._idle = threading.Event()
        self._idle.set()

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
        self._exit_seen = None
        self._stderr_tail.clear()
        started = time.perf_counter()
        self._starting = True
        try:
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
                start_new_session=True,  # a Ctrl-C or a group signal reaches the host, which decides what dbt gets
            )
            self._stdout_pump = threading.Thread(target=self._pump_stdout, args=(self._process.stdout,), daemon=True)
            self._stdout_pump.start()
            self._stderr_pump = threading.Thread(target=self._pump_stderr, args=(self._process.stderr,), daemon=True)
            self._stderr_pump.start()
            message = self._startup_message(deadline=time.monotonic() + self.startup_timeout)
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
        finally:
            self._starting = False
        self.dbt_version = message.get("dbt_version")
        logger.debug(
            "dbt worker pid %s ready in %.2fs (dbt %s, %s)",
            message.get("pid"), time.perf_counter() - started, self.dbt_version, self.description,
        )

    def close(self) -> None:
        """Stop the worker. A command running in another thread is cancelled first (SIGINT, never a kill first)."""
        with self._lock:
            waiting = self._waiting_thread
            if waiting is not None:
                self.cancel("the runner was closed")
        if waiting == threading.get_ident():
            return  # called from a signal handler in the waiting thread: that thread finishes the stop
        if waiting is not None:
            self._idle.wait(self.cancel_grace + 5)
        self._shutdown()

    def _shutdown(self) -> None:
        """Ask an idle worker to exit (kill it when it does not within 5 s) and close its pipes."""
        process, self._process = self._process, None
        if process is None:
            return
        if self._starting:  # still importing dbt (a warm start nobody used): it reads no request yet
            kill_process(process)
            process.wait()
        elif process.poll() is None:
            try:
                assert process.stdin is not None
                process.stdin.write(json.dumps({"op": "exit"}) + "\n")
                process.stdin.flush()
                process.wait(timeout=5)
            except (OSError, ValueError, subprocess.TimeoutExpired):
                kill_process(process)
                process.wait()
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    def cancel(self, reason: str = "cancelled") -> None:
        """Stop the running command: SIGINT now, SIGKILL after the grace period. Returns at once; safe from any
        thread and from a signal handler. A second call kills at once. Nothing happens when no command runs."""
        with self._lock:
            if self._waiting_thread is None:
                return
            first = self._cancel_reason is None
            if first:
                self._cancel_reason = reason
                self._kill_at = time.monotonic() + self.cancel_grace
            else:
                self._kill_at = time.monotonic()
            process = self._process if self._in_flight else None
        if first and process is not None:
            send_signal(process, signal.SIGINT, group=False)

    # -- commands ---------------------------------------------------------------------------------------------
    def execute(self, invocation: Invocation, on_event: EventHandler) -> InvocationOutcome:
        collector = OutcomeCollector(on_event)
        started = time.monotonic()
        request = {"op": "invoke", "args": list(invocation.args)}
        reply = self._request(request, invocation, collector, waiting_for=f"dbt {invocation.args[0]}")
        error = reply.get("error")
        return collector.outcome(
            bool(reply.get("success")), self.redact(error) if error else None, time.monotonic() - started,
            invocation_id=reply.get("invocation_id"), parsed=bool(reply.get("parsed")), rss=reply.get("rss"),
            cancelled=reply.get("cancelled"), crashed=bool(reply.get("crashed")),
        )

    def sources(self, invocation: Invocation, on_event: EventHandler) -> list[dict[str, Any]]:
        """The project's sources from the manifest of ``invocation.manifest_key`` (parsed with
        ``invocation.parse_args`` when not cached)."""
        reply = self._request({"op": "sources"}, invocation, OutcomeCollector(on_event), waiting_for="dbt parse")
        if not reply.get("success"):
            raise KickoffError(self.redact(reply.get("error")) or "dbt could not parse the project")
        return list(reply["sources"])

    def _request(self, request: dict[str, Any], invocation: Invocation, collector: OutcomeCollector,
                 waiting_for: str) -> dict[str, Any]:
        """Send one request and stream its events to ``collector`` until its reply arrives, the command is
        cancelled (the reply then says ``cancelled``) or the worker dies (``crashed``)."""
        if self.alive and not self.python.exists():  # the environment went away under a warm worker
            self._shutdown()
        self._next_id += 1
        request = {**request, "id": self._next_id}
        if invocation.manifest_key:
            request.update(manifest_key=invocation.manifest_key, parse_args=list(invocation.parse_args))
        if invocation.env:
            request["env"] = dict(invocation.env)
        with self._lock:
            self._waiting_thread = threading.get_ident()
            self._cancel_reason = self._kill_at = None
            self._in_flight = False
            self._idle.clear()
        try:
            with cancel_listener(invocation, self.cancel):
                self.start()
                with self._lock:
                    if self._cancel_reason is not None:  # cancelled while dbt was being imported
                        return {"type": "done", "id": request["id"], "success": False,
                                "cancelled": self._cancel_reason}
                    assert self._process is not None and self._process.stdin is not None
                    try:
                        self._process.stdin.write(json.dumps(request) + "\n")
                        self._process.stdin.flush()
                    except (BrokenPipeError, OSError):
                        return self._crashed(request["id"], waiting_for)
                    self._in_flight = True
                return self._await_reply(request["id"], invocation.timeout, collector, waiting_for)
        except BaseException:
            self._stop_now("interrupted")  # KeyboardInterrupt, SystemExit, an orchestrator's interrupt
            raise
        finally:
            with self._lock:
                self._waiting_thread = None
                self._in_flight = False
                self._idle.set()

    def _await_reply(self, request_id: int, timeout: float | None, collector: OutcomeCollector,
                     waiting_for: str) -> dict[str, Any]:
        deadline = time.monotonic() + timeout if timeout else None
        while True:
            now = time.monotonic()
            if deadline is not None and now >= deadline and self._cancel_reason is None:
                self.cancel(f"timed out after {timeout:g}s")
            if self._cancel_reason is not None:
                collector.stopping()
            if self._kill_at is not None and now >= self._kill_at:
                return self._killed(request_id)
            message = self._poll()
            if message is None:
                continue
            if message is _EOF:
                if self._cancel_reason is not None:
                    return self._killed(request_id)
                return self._crashed(request_id, waiting_for)
            if message.get("id") != request_id:
                continue
            if message["type"] == "event":
                collector(event_from_wire(message, self.redact))
            elif message["type"] == "done":
                self.commands_run += 1
                self.last_rss = message.get("rss")
                if self._cancel_reason is not None:
                    logger.warning("dbt stopped (%s); the worker is restarted for the next command",
                                   self._cancel_reason)
                    self._shutdown()  # dbt was interrupted mid-command: start clean next time
                    return {**message, "success": False, "cancelled": self._cancel_reason}
                return dict(message)

    def _stop_now(self, reason: str) -> None:
        """Stop the running command from the waiting thread itself: SIGINT, wait for dbt to wind down (its
        reply) within the grace period, then kill. Used when an exception interrupts the wait."""
        try:
            self.cancel(reason)
            while self._kill_at is not None and time.monotonic() < self._kill_at and self.alive:
                message = self._poll()
                if message is _EOF or (isinstance(message, dict) and message.get("type") == "done"):
                    break
        finally:
            self._reap()

    def _killed(self, request_id: int) -> dict[str, Any]:
        logger.warning("dbt did not stop within %ss of SIGINT (%s): killed", self.cancel_grace, self._cancel_reason)
        self._reap()
        return {"type": "done", "id": request_id, "success": False, "cancelled": self._cancel_reason,
                "error": f"dbt was killed: {self._cancel_reason}"}

    def _crashed(self, request_id: int, waiting_for: str) -> dict[str, Any]:
        code, output = self._exit_code(), self._stderr_text()
        self._reap()
        return {"type": "done", "id": request_id, "success": False, "crashed": True,
                "error": f"the dbt worker ({self.description}) exited with code {code} during {waiting_for}:\n"
                         f"{output}"}

    # -- plumbing ---------------------------------------------------------------------------------------------
    def _pump_stdout(self, stream: IO[str]) -> None:
        try:
            for line in stream:
                try:
                    self._messages.put(json.loads(line))
                except json.JSONDecodeError:
                    dbt_logger.debug("worker: %s", self.redact(line.rstrip()))
        except (ValueError, OSError):  # the pipe is closed under us when the worker is reaped
            pass
        finally:
            self._messages.put(_EOF)

    def _pump_stderr(self, stream: IO[str]) -> None:
        with contextlib.suppress(ValueError, OSError):  # the pipe is closed under us when the worker is reaped
            for line in stream:
                text = self.redact(line.rstrip())
                self._stderr_tail.append(text)
                dbt_logger.debug("%s", text)

    def _stderr_text(self) -> str:
        if self._stderr_pump is not None:
            self._stderr_pump.join(timeout=2)
        return "\n".join(self._stderr_tail) or "(no output)"

    def _poll(self) -> Any:
        """The next message, ``_EOF`` when the worker is gone, ``None`` when nothing came within a poll tick."""
        try:
            return self._messages.get(timeout=_POLL_SECONDS)
        except queue.Empty:
            if self._process is None:
                return _EOF
            if self._process.poll() is None:
                return None
            if self._stdout_pump is not None and self._stdout_pump.is_alive():
                # the worker exited: its last messages may still be on their way through the pipe (a busy
                # machine may take a while to run the pump); a process it left behind holding the pipe open must
                # not keep us waiting for ever, hence the bound
                if self._exit_seen is None:
                    self._exit_seen = time.monotonic()
                if time.monotonic() - self._exit_seen < _DRAIN_SECONDS:
                    self._stdout_pump.join(timeout=_POLL_SECONDS)
                    return None
            return None if not self._messages.empty() else _EOF

    def _startup_message(self, deadline: float) -> dict[str, Any]:
        while True:
            if time.monotonic() >= deadline:
                self._reap()
                raise WorkerCrashed(f"the dbt worker ({self.description}) did not start within "
                                    f"{self.startup_timeout:g}s")
            message = self._poll()
            if message is _EOF:
                code, output = self._exit_code(), self._stderr_text()
                self._reap()
                raise WorkerCrashed(f"the dbt worker ({self.description}) exited with code {code} during "
                                    f"start-up:\n{output}")
            if message is not None:
                return dict(message)

    def _exit_code(self) -> int | None:
        """The exit code of a worker whose output ended (it may take a moment to be reaped)."""
        try:
            return self._process.wait(timeout=5) if self._process else None
        except subprocess.TimeoutExpired:
            return None

    def _reap(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            stop_process(process, 0, interrupted=True)
