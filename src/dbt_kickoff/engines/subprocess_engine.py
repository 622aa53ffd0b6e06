"""The plain subprocess engine: one ``dbt`` process per command, JSON logs parsed from its output.

Serves dbt executables that are not Python dbt v1 (the dbt v2 engine) and is the fallback for v1.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any, Literal

from dbt_kickoff.engines.base import EventHandler, Invocation, InvocationOutcome, OutcomeCollector, event_from_wire
from dbt_kickoff.errors import DbtCancelled, PrerequisitesException
from dbt_kickoff.redaction import Redactor

logger = logging.getLogger("dbt_kickoff.engine")
dbt_logger = logging.getLogger("dbt_kickoff.dbt")

# dbt v1: 0 success, 1 the command ran but something failed, 2 dbt itself errored.
# dbt v2 engine: 0 success, 1 error, 2 finished with warnings (a success).
SUCCESS_EXIT_CODES: dict[str, frozenset[int]] = {"v1": frozenset({0}), "v2": frozenset({0, 2})}


def wire_from_json_log(record: Mapping[str, Any]) -> dict[str, Any]:
    """dbt's ``--log-format json`` record -> the worker's event shape."""
    info = record.get("info") or {}
    data = record.get("data") or {}
    wire: dict[str, Any] = {
        "name": info.get("name", ""),
        "level": info.get("level", "info"),
        "msg": info.get("msg", ""),
        "invocation_id": info.get("invocation_id"),
    }
    node_info = data.get("node_info")
    if info.get("name") in {"NodeStart", "NodeFinished"} and node_info and node_info.get("unique_id"):
        node = {
            "unique_id": node_info["unique_id"],
            "name": node_info.get("node_name"),
            "resource_type": node_info.get("resource_type"),
            "status": node_info.get("node_status"),
        }
        run_result = data.get("run_result") or {}
        if run_result.get("status"):
            node.update(status=run_result["status"], execution_time=run_result.get("execution_time"),
                        message=run_result.get("message"))
        wire["node"] = node
    return wire


class SubprocessEngine:
    """Runs ``<dbt_executable> <args> --log-format json`` once per command."""

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

    def start(self) -> None:
        if not self.dbt_executable.exists():
            raise PrerequisitesException(f"dbt executable {self.dbt_executable} does not exist")

    def close(self) -> None:
        """Nothing stays running between commands."""

    def execute(self, invocation: Invocation, on_event: EventHandler) -> InvocationOutcome:
        self.start()
        collector = OutcomeCollector(on_event)
        args = [str(self.dbt_executable), *invocation.args, "--log-format", "json"]
        started = time.monotonic()
        process = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.cwd,
            env=self.env, text=True, encoding="utf-8", errors="replace", start_new_session=True,
        )
        assert process.stdout is not None
        plain_output: list[str] = []
        reader = threading.Thread(target=self._read, args=(process.stdout, collector, plain_output), daemon=True)
        reader.start()
        try:
            code = process.wait(timeout=invocation.timeout)
        except subprocess.TimeoutExpired:
            self._stop(process)
            raise DbtCancelled(
                f"dbt {invocation.args[0]} timed out after {invocation.timeout}s and was stopped"
            ) from None
        except KeyboardInterrupt:
            self._stop(process)
            raise
        reader.join()
        self.commands_run += 1
        success = code in SUCCESS_EXIT_CODES[self.exit_codes]
        error = None
        if not success and not collector.errors:
            error = self.redact("\n".join(plain_output[-20:])) or f"dbt exited with code {code}"
        return collector.outcome(success, error, time.monotonic() - started)

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
                collector(event_from_wire(wire_from_json_log(record)))  # line already redacted
            else:
                plain_output.append(line)

    def _stop(self, process: subprocess.Popen[str]) -> None:
        try:
            os.kill(process.pid, signal.SIGINT)
            process.wait(timeout=self.cancel_grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        except ProcessLookupError:
            pass
