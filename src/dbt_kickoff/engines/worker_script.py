"""The warm dbt worker: started with the interpreter that has dbt, runs dbt commands as they arrive.

Standard library only, and run by file path (``python worker_script.py``), so the environment it runs in
needs dbt but not dbt-kickoff. Protocol, one JSON object per line:

- parent -> worker (stdin): ``{"op": "invoke", "id": N, "args": [...]}`` or ``{"op": "exit"}``
- worker -> parent (the original stdout): ``{"type": "ready", ...}`` once, then per command any number of
  ``{"type": "event", "id": N, ...}`` and one ``{"type": "done", "id": N, "success": bool, "error": str|None}``;
  ``{"type": "fatal", "kind": ..., "error": ...}`` when dbt cannot be imported.

dbt's own console output is sent to stderr, so the protocol channel only carries protocol lines.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import threading
import traceback
from typing import Any

NODE_EVENTS = {"NodeStart", "NodeFinished"}
FORWARDED_LEVELS = {"info", "warn", "error"}


class Channel:
    """Thread-safe writer of protocol lines (dbt fires events from its worker threads)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def send(self, message: dict[str, Any]) -> None:
        line = json.dumps(message, default=str)
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()


def _node_info(data: Any) -> dict[str, Any] | None:
    info = getattr(data, "node_info", None)
    if info is None or not info.unique_id:
        return None
    node = {
        "unique_id": info.unique_id,
        "name": info.node_name,
        "resource_type": info.resource_type,
        "status": info.node_status,
    }
    run_result = getattr(data, "run_result", None)
    if run_result is not None and run_result.status:
        node["status"] = run_result.status
        node["execution_time"] = run_result.execution_time
        node["message"] = run_result.message
    return node


def make_callback(channel: Channel, current: dict[str, Any]) -> Any:
    def on_event(msg: Any) -> None:
        info = msg.info
        if info.level not in FORWARDED_LEVELS and info.name not in NODE_EVENTS:
            return
        event: dict[str, Any] = {
            "type": "event",
            "id": current.get("id"),
            "name": info.name,
            "level": info.level,
            "msg": info.msg,
            "invocation_id": info.invocation_id,
        }
        if info.name in NODE_EVENTS:
            event["node"] = _node_info(msg.data)
        channel.send(event)

    return on_event


def serve(channel: Channel, requests: Any) -> int:
    try:
        from dbt.cli.main import dbtRunner
        from dbt.version import __version__ as dbt_version
    except Exception as exc:  # ImportError, or a broken install raising anything else on import
        channel.send({"type": "fatal", "kind": "dbt_missing", "error": f"{type(exc).__name__}: {exc}"})
        return 3

    current: dict[str, Any] = {}
    runner = dbtRunner(callbacks=[make_callback(channel, current)])
    channel.send(
        {
            "type": "ready",
            "dbt_version": str(dbt_version),
            "python": platform.python_version(),
            "executable": sys.executable,
            "pid": os.getpid(),
        }
    )
    for line in requests:
        if not line.strip():
            continue
        request = json.loads(line)
        if request.get("op") == "exit":
            return 0
        current["id"] = request["id"]
        error = None
        try:
            result = runner.invoke(list(request["args"]))
            success = bool(result.success)
            if result.exception is not None:
                exc = result.exception
                error = f"{type(exc).__name__}: {exc}"
        except BaseException as exc:  # dbtRunner catches nearly everything; this is the last resort
            success = False
            error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}"
        channel.send({"type": "done", "id": request["id"], "success": success, "error": error})
    return 0


def main() -> int:
    protocol_out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # whatever dbt prints to stdout lands on stderr, away from the protocol
    return serve(Channel(protocol_out), sys.stdin)


if __name__ == "__main__":
    sys.exit(main())
