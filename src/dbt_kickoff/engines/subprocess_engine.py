"""The plain subprocess engine: one ``dbt`` process per command, JSON logs parsed from its output.

Serves dbt executables that are not Python dbt v1 (the dbt v2 engine) and is the fallback for v1.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import json
import logging
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any, Literal

from dbt_kickoff.engines import fusion
from dbt_kickoff.engines.base import (
    EventHandler,
    Invocation,
    InvocationOutcome,
    OutcomeCollector,
    cancel_listener,
    event_from_wire,
    wire_from_json_log,
)
from dbt_kickoff.errors import KickoffError, PrerequisitesException
from dbt_kickoff.processes import kill_process, send_signal, stop_process
from dbt_kickoff.redaction import Redactor

logger = logging.getLogger("dbt_kickoff.engine")
dbt_logger = logging.getLogger("dbt_kickoff.dbt")

# dbt v1: 0 success, 1 the command ran but something failed, 2 dbt itself errored.
# dbt v2 engine: 0 success, 1 error, 2 finished with warnings (a success).
SUCCESS_EXIT_CODES: dict[str, frozenset[int]] = {"v1": frozenset({0}), "v2": fusion.SUCCESS_EXIT_CODES}


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: SIGINT this process when the thread that started it ends (the host died)."""
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGINT)


_PR_SET_PDEATHSIG = 1
try:
    _LIBC: Any = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True) \
        if sys.platform.startswith("linux") else None
except OSError:  # pragma: no cover - a Linux without a loadable libc
    _LIBC = None


class SubprocessEngine:
    """Runs ``<dbt_executable> <args> --log-format json`` once per command.

    Each command is its own process group in its own session; a cancel sends it SIGINT, waits the grace
    period, then kills the group. On Linux the process also gets SIGINT when the host dies.
    """

    keeps_manifest = False

    def __init__(
        self,
        dbt_executable: Path,
        *,
        cwd: Path,
        env: Mapping[str, str],
        exit_codes: Literal["v1", "v2"] = "v1",
        redact: Redactor | None = None,
        cancel_grace: float = 10.0,
    ) -> None:
        self.dbt_executable = Path(dbt_executable)
        self.cwd = cwd
        self.env = dict(env)
        self.exit_codes = exit_codes
        self.redact = redact or Redactor()
        self.cancel_grace = cancel_grace
        self.dbt_version: str | None = None
        self.commands_run = 0
        self._lock = threading.RLock()
        self._process: subprocess.Popen[str] | None = None
        self._cancel_reason: str | None = None
        self._kill_at: float | None = None

    def start(self) -> None:
        if not self.dbt_executable.exists():
            raise PrerequisitesException(f"dbt executable {self.dbt_executable} does not exist")

    def close(self) -> None:
        """Nothing stays running between commands; a command running in another thread is cancelled."""
        self.cancel("the runner was closed")

    def cancel(self, reason: str = "cancelled") -> None:
        """SIGINT to the running command now, a kill after the grace period (at once when asked twice).
        Returns at once; safe from any thread and from a signal handler."""
        with self._lock:
            process = self._process
            if process is None:
                return
            first = self._cancel_reason is None
            if first:
                self._cancel_reason = reason
                self._kill_at = time.monotonic() + self.cancel_grace
            else:
                self._kill_at = time.monotonic()
        if first:
            send_signal(process, signal.SIGINT, group=True)

    def execute(self, invocation: Invocation, on_event: EventHandler) -> InvocationOutcome:
        self.start()
        collector = OutcomeCollector(on_event)
        dbt_args = fusion.command_line(invocation.args) if self.exit_codes == "v2" else invocation.args
        args = [str(self.dbt_executable), *dbt_args, "--log-format", "json"]
        started = time.monotonic()
        process = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.cwd,
            env={**self.env, **invocation.env}, text=True, encoding="utf-8", errors="replace", start_new_session=True,
            preexec_fn=_die_with_parent if _LIBC is not None else None,
        )
        assert process.stdout is not None
        plain_output: list[str] = []
        reader = threading.Thread(target=self._read, args=(process.stdout, collector, plain_output), daemon=True)
        reader.start()
        with self._lock:
            self._process, self._cancel_reason, self._kill_at = process, None, None
        try:
            with cancel_listener(invocation, self.cancel):
                code = self._wait(process, reader, invocation.timeout, collector)
        except BaseException:  # KeyboardInterrupt, SystemExit, an orchestrator's interrupt: stop dbt, then go on
            self.cancel("interrupted")
            stop_process(process, max(0.0, (self._kill_at or 0) - time.monotonic()), group=True, interrupted=True)
            raise
        finally:
            with self._lock:
                self._process = None
        reader.join()
        self.commands_run += 1
        cancelled = self._cancel_reason
        success = code in SUCCESS_EXIT_CODES[self.exit_codes]
        error = None
        if cancelled:
            error = f"dbt was stopped: {cancelled}"
        elif not success and not collector.errors:
            error = self.redact("\n".join(plain_output[-20:])) or f"dbt exited with code {code}"
        crashed = code < 0 and not cancelled  # killed by a signal that was not ours
        return collector.outcome(success, error, time.monotonic() - started, cancelled=cancelled, crashed=crashed)

    def sources(self, invocation: Invocation, on_event: EventHandler) -> list[dict[str, Any]]:
        """``dbt parse``, then the sources of the manifest it wrote."""
        if invocation.target_dir is None:
            raise KickoffError("the subprocess engine needs the invocation's target folder to read sources")
        parse = Invocation(args=invocation.parse_args or invocation.args, timeout=invocation.timeout,
                           target_dir=invocation.target_dir, cancel_token=invocation.cancel_token)
        outcome = self.execute(parse, on_event)
        if not outcome.success:
            raise KickoffError(outcome.error or "\n".join(outcome.errors) or "dbt could not parse the project")
        manifest = json.loads((invocation.target_dir / "manifest.json").read_text(encoding="utf-8"))
        return [
            {key: node.get(key) for key in ("unique_id", "source_name", "name", "schema", "identifier", "database",
                                            "relation_name", "loaded_at_field", "loaded_at_query", "freshness")}
            for node in manifest.get("sources", {}).values()
        ]

    def _wait(self, process: subprocess.Popen[str], reader: threading.Thread, timeout: float | None,
              collector: OutcomeCollector) -> int:
        """dbt's exit status, seen as soon as its output ends (no polling delay); meanwhile the timeout, the cancel
        and the kill after the grace period are watched."""
        deadline = time.monotonic() + timeout if timeout else None
        while True:
            if reader.is_alive():
                reader.join(timeout=0.1)  # returns at once when dbt closes its output: it exited
            else:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    return process.wait(timeout=0.1)
            code = process.poll()
            if code is not None and not reader.is_alive():
                return code
            now = time.monotonic()
            if deadline is not None and now >= deadline and self._cancel_reason is None:
                self.cancel(f"timed out after {timeout:g}s")
            if self._cancel_reason is not None:
                collector.stopping()
            if self._kill_at is not None and now >= self._kill_at:
                logger.warning("dbt did not stop within %ss of SIGINT (%s): killed", self.cancel_grace,
                               self._cancel_reason)
                kill_process(process, group=True)
                return process.wait()

    def _note_version(self, record: Mapping[str, Any]) -> None:
        """dbt (v1 and v2) reports its version in its first log line: ``MainReportVersion`` ("=1.11.2")."""
        if self.dbt_version is None and record["info"].get("name") == "MainReportVersion":
            version = str((record.get("data") or {}).get("version") or "").lstrip("=")
            self.dbt_version = version or None

    def _read(self, stream: IO[str], collector: OutcomeCollector, plain_output: list[str]) -> None:
        for line in stream:
            line = self.redact(line.rstrip())
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                plain_output.append(line)
                dbt_logger.debug("%s", line)
                continue
            if isinstance(record, dict) and "info" in record:
                self._note_version(record)
                wire = fusion.wire_from_log(record) if self.exit_codes == "v2" else wire_from_json_log(record)
                collector(event_from_wire(wire))  # line already redacted
            else:
                plain_output.append(line)
