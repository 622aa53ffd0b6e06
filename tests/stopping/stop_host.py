"""A task process that runs dbt through dbt-kickoff and is stopped by the tests in various ways.

Usage: python stop_host.py PROJECT DESTINATION HOW [TIMEOUT]. Prints "started" when the slow model runs, then
one JSON line: the error type, its partial results and running nodes (when the call returns at all).
HOW: wait (do nothing: the test signals or kills this process), cancel (runner.cancel() from another
thread), inject (SystemExit injected into the waiting thread, as an orchestrator's interrupt), timeout.
"""

from __future__ import annotations

import ctypes
import json
import sys
import threading

import dbt_kickoff
from dbt_kickoff.engines import DbtEvent

project, destination, how = sys.argv[1:4]
started = threading.Event()


def on_event(event: DbtEvent) -> None:
    if event.name == "NodeStart" and event.node and event.node.name == "slow":
        print("started", flush=True)
        started.set()


runner = dbt_kickoff.package(destination, project, dataset_name="stop_test", on_event=on_event,
                             command_timeout=float(sys.argv[4]) if how == "timeout" else None)
waiting = threading.get_ident()


def stop_later() -> None:
    started.wait()
    threading.Event().wait(4)
    if how == "cancel":
        runner.cancel("cancelled by the test")
    elif how == "inject":
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(waiting), ctypes.py_object(SystemExit))


threading.Thread(target=stop_later, daemon=True).start()
outcome: dict[str, object] = {}
try:
    runner.build(["--threads", "1"])
    outcome["error"] = None
except dbt_kickoff.DbtCancelled as exc:
    outcome.update(error="DbtCancelled", reason=exc.reason, running=exc.running,
                   results=[[r.model_name, r.status] for r in exc.results])
except BaseException as exc:
    outcome.update(error=type(exc).__name__)
finally:
    runner.close()
print(json.dumps(outcome), flush=True)
