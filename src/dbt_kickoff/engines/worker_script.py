"""The warm dbt worker: started with the interpreter that has dbt, runs dbt commands as they arrive.

Standard library only, and run by file path (``python worker_script.py``), so the environment it runs in
needs dbt but not dbt-kickoff. Protocol, one JSON object per line:

- parent -> worker (stdin): ``{"op": "invoke", "id": N, "args": [...]}``, ``{"op": "sources", "id": N}`` or
  ``{"op": "exit"}``. ``invoke`` and ``sources`` may carry ``"manifest_key"`` and ``"parse_args"``: the worker
  then keeps the parsed manifest under that key and reuses it (no parse) until a request brings another key;
  and ``"env"``: variables set in the worker's environment before the command (refreshed credentials).
- worker -> parent (the original stdout): ``{"type": "ready", ...}`` once, then per command any number of
  ``{"type": "event", "id": N, ...}`` and one ``{"type": "done", "id": N, "success": bool, "error": str|None,
  "invocation_id": ..., "parsed": bool, "rss": bytes}`` (``sources`` adds ``"sources": [...]``);
  ``{"type": "fatal", "kind": ..., "error": ...}`` when dbt cannot be imported.

dbt's own console output is sent to stderr, so the protocol channel only carries protocol lines.

Stopping: SIGINT interrupts the running command (dbt cancels its warehouse queries and the command ends with
``"error": "KeyboardInterrupt"``); an idle worker ignores it. When the parent dies the worker interrupts its
command and exits by itself (see :class:`Lifeline`).
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import queue
import signal
import sys
import threading
import traceback
from typing import Any

NODE_EVENTS = {"NodeStart", "NodeFinished"}
FORWARDED_LEVELS = {"info", "warn", "error"}


class Channel:
    """Thread-safe writer of protocol lines (dbt fires events from its worker threads).

    A failed write means the parent is gone: ``on_broken`` is called once and later messages are dropped.
    """

    def __init__(self, stream: Any, on_broken: Any = None) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self._on_broken = on_broken
        self._broken = False

    def send(self, message: dict[str, Any]) -> None:
        line = json.dumps(message, default=str)
        with self._lock:
            if self._broken:
                return
            try:
                self._stream.write(line + "\n")
                self._stream.flush()
            except (OSError, ValueError):
                self._broken = True
        if self._broken and self._on_broken is not None:
            self._on_broken()


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
        node["rows_affected"] = _rows_affected(getattr(run_result, "adapter_response", None))
        node["failures"] = getattr(run_result, "num_failures", None)
    return node


def _rows_affected(response: Any) -> int | None:
    """The adapter's row count from a node's result (a protobuf Struct or a dict); ``None`` when it has none."""
    try:
        rows = response["rows_affected"] if response is not None and "rows_affected" in response else None
    except (TypeError, KeyError, ValueError):
        return None
    return int(rows) if isinstance(rows, (int, float)) and not isinstance(rows, bool) and rows >= 0 else None


def make_callback(channel: Channel, current: dict[str, Any]) -> Any:
    def on_event(msg: Any) -> None:
        info = msg.info
        if current.get("muted"):
            return
        if info.invocation_id:
            current["invocation_id"] = info.invocation_id
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


def resident_memory() -> int | None:
    """Current resident set size in bytes (Linux), for the parent's recycling policy."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


class ManifestCache:
    """The parsed manifest, kept while the parent's key (project files, profile, vars) stays the same."""

    def __init__(self, runner_class: Any, callbacks: list[Any], current: dict[str, Any]) -> None:
        self.runner_class = runner_class
        self.callbacks = callbacks
        self.current = current
        self.key: str | None = None
        self.manifest: Any = None
        self.error: str | None = None
        """dbt's own message when the last parse failed."""

    def get(self, request: dict[str, Any]) -> tuple[Any, bool]:
        """The manifest for the request (``None``: let dbt parse as usual) and whether it was parsed now."""
        key = request.get("manifest_key")
        if not key:
            return None, False
        if key == self.key:
            return self.manifest, False
        self.key, self.manifest, self.error = None, None, None
        self.current["muted"] = True  # a parse error shows up again, with its events, in the command itself
        try:
            result = self.runner_class(callbacks=self.callbacks).invoke(list(request["parse_args"]))
        finally:
            self.current["muted"] = False
        if result.success and result.result is not None:
            self.key, self.manifest = key, result.result
            return self.manifest, True
        if result.exception is not None:
            self.error = f"{type(result.exception).__name__}: {result.exception}"
        return None, False


def release_database_files() -> None:
    """Let go of embedded database files between commands, as a finished ``dbt`` process would.

    dbt-duckdb keeps its DuckDB instance open for the life of the process; a warm worker would then hold the
    file's lock between cycles and the loader (dlt) could not write to it.
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except Exception:
        return
    with DuckDBConnectionManager._LOCK:
        environment = DuckDBConnectionManager._ENV
        DuckDBConnectionManager._ENV = None
        close = getattr(environment, "close", None)
        if close is not None:
            try:
                close()
            except Exception as exc:  # a close error must not fail the command that already finished
                print(f"dbt-kickoff worker: closing DuckDB failed: {exc}", file=sys.stderr)


def _freshness(node: Any) -> Any:
    freshness = getattr(node, "freshness", None)
    try:
        return freshness.to_dict() if freshness is not None else None
    except Exception:
        return None


def source_tables(manifest: Any) -> list[dict[str, Any]]:
    return [
        {
            "unique_id": node.unique_id,
            "source_name": node.source_name,
            "name": node.name,
            "schema": node.schema,
            "identifier": node.identifier,
            "database": node.database,
            "relation_name": getattr(node, "relation_name", None),
            "loaded_at_field": getattr(node, "loaded_at_field", None),
            "loaded_at_query": getattr(node, "loaded_at_query", None),
            "freshness": _freshness(node),
        }
        for node in manifest.sources.values()
    ]


def handle(request: dict[str, Any], cache: ManifestCache, callbacks: list[Any], current: dict[str, Any],
           runner_class: Any) -> dict[str, Any]:
    current["id"] = request["id"]
    current["invocation_id"] = None
    reply: dict[str, Any] = {"type": "done", "id": request["id"], "success": False, "error": None}
    os.environ.update(request.get("env") or {})  # this process is dbt's: secrets refreshed per command
    try:
        manifest, reply["parsed"] = cache.get(request)
        if request["op"] == "sources":
            if manifest is None:
                reply["error"] = cache.error or "dbt could not parse the project (it gave no reason)"
            else:
                reply["success"], reply["sources"] = True, source_tables(manifest)
            return reply
        result = runner_class(manifest=manifest, callbacks=callbacks).invoke(list(request["args"]))
        reply["success"] = bool(result.success)
        if result.exception is not None:
            reply["error"] = f"{type(result.exception).__name__}: {result.exception}"
    except BaseException as exc:  # dbtRunner catches nearly everything; this is the last resort
        reply["error"] = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}"
    finally:
        release_database_files()
    reply["invocation_id"] = current.get("invocation_id")
    reply["rss"] = resident_memory()
    return reply


class Lifeline:
    """Ends the worker when its parent is gone, cancelling the running command's queries first.

    The parent is gone when the worker is re-parented (it died, even by SIGKILL), its stdin closes, or a
    protocol write fails. A running command then gets SIGINT (dbt cancels its open queries, as on Ctrl-C) and
    the worker exits when the command returns, or after ``grace`` seconds at the latest; an idle worker exits
    at once. Output goes to /dev/null from then on, so no write to a closed pipe can block or fail.
    """

    def __init__(self, parent_pid: int, grace: float) -> None:
        self.parent_pid = parent_pid
        self.grace = grace
        self.busy = False
        self.gone = threading.Event()
        self._lock = threading.Lock()

    def watch(self, interval: float = 0.2) -> None:
        while not self.gone.wait(interval):
            if os.getppid() != self.parent_pid:
                self.parent_gone()

    def parent_gone(self) -> None:
        with self._lock:
            if self.gone.is_set():
                return
            self.gone.set()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        if not self.busy:
            os._exit(0)
        # to the main thread itself: a process-wide signal may land on another thread and leave dbt's main
        # thread blocked in a wait that only a signal of its own interrupts
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
        timer = threading.Timer(self.grace, os._exit, args=(1,))
        timer.daemon = True
        timer.start()

    def on_sigint(self, _signum: int, _frame: Any) -> None:
        """SIGINT interrupts a running command (dbt cancels its queries); an idle worker ignores it."""
        if self.busy:
            raise KeyboardInterrupt


def read_requests(stream: Any, requests: queue.Queue[str | None], lifeline: Lifeline) -> None:
    for line in stream:
        requests.put(line)
    requests.put(None)
    lifeline.parent_gone()


def serve(channel: Channel, requests: queue.Queue[str | None], lifeline: Lifeline) -> int:
    try:
        from dbt.cli.main import dbtRunner
        from dbt.version import __version__ as dbt_version
    except Exception as exc:  # ImportError, or a broken install raising anything else on import
        channel.send({"type": "fatal", "kind": "dbt_missing", "error": f"{type(exc).__name__}: {exc}"})
        return 3

    current: dict[str, Any] = {}
    callbacks = [make_callback(channel, current)]
    cache = ManifestCache(dbtRunner, callbacks, current)
    channel.send(
        {
            "type": "ready",
            "dbt_version": str(dbt_version),
            "python": platform.python_version(),
            "executable": sys.executable,
            "pid": os.getpid(),
        }
    )
    while True:
        try:
            line = requests.get()
        except KeyboardInterrupt:
            continue
        if line is None or lifeline.gone.is_set():
            return 0
        if not line.strip():
            continue
        request = json.loads(line)
        if request.get("op") == "exit":
            return 0
        lifeline.busy = True
        try:
            reply = handle(request, cache, callbacks, current, dbtRunner)
        except KeyboardInterrupt:  # interrupted outside dbt (between parse and command, or while cleaning up)
            reply = {"type": "done", "id": request["id"], "success": False, "error": "KeyboardInterrupt"}
        finally:
            lifeline.busy = False
        if lifeline.gone.is_set():
            return 1
        channel.send(reply)


def main() -> int:
    protocol_out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # whatever dbt prints to stdout lands on stderr, away from the protocol
    lifeline = Lifeline(os.getppid(), grace=float(os.environ.get("DBT_KICKOFF_WORKER_GRACE", "8")))
    signal.signal(signal.SIGINT, lifeline.on_sigint)
    requests: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=read_requests, args=(sys.stdin, requests, lifeline), daemon=True).start()
    threading.Thread(target=lifeline.watch, daemon=True).start()
    code = serve(Channel(protocol_out, on_broken=lifeline.parent_gone), requests, lifeline)
    for stream in (protocol_out, sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)  # never wait for threads dbt left behind: a worker must not outlive its purpose


if __name__ == "__main__":
    main()
