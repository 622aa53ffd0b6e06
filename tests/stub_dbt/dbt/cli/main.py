"""``dbtRunner`` look-alike. Commands (the first argument):

- ``nodes N SECONDS``: N nodes, each started, slept and finished with success.
- ``sleep SECONDS``: one finished node, then one that sleeps; SIGINT ends it like dbt does (KeyboardInterrupt,
  after writing ``$STUB_MARKER`` = "interrupted" — the stand-in for cancelling warehouse queries).
- ``stubborn``: like ``sleep`` but ignores SIGINT (so the host must kill it).
- ``crash``: one finished node, then the process dies (exit 9).
"""

from __future__ import annotations

import os
import time
import uuid
from types import SimpleNamespace
from typing import Any


def _event(name: str, level: str = "info", msg: str = "", node: dict[str, Any] | None = None,
           status: str | None = None) -> Any:
    data = SimpleNamespace(node_info=None, run_result=None)
    if node is not None:
        data.node_info = SimpleNamespace(unique_id=node["unique_id"], node_name=node["name"],
                                         resource_type="model", node_status=status or "started")
        if status and name == "NodeFinished":
            data.run_result = SimpleNamespace(status=status, execution_time=0.01, message=f"{status} {node['name']}")
    return SimpleNamespace(info=SimpleNamespace(name=name, level=level, msg=msg, invocation_id=_INVOCATION[0]),
                           data=data)


_INVOCATION = [""]


def _node(index: int | str) -> dict[str, Any]:
    return {"unique_id": f"model.stub.node_{index}", "name": f"node_{index}"}


def _mark(text: str) -> None:
    marker = os.environ.get("STUB_MARKER")
    if marker:
        with open(marker, "a", encoding="utf-8") as handle:
            handle.write(text + "\n")


class dbtRunnerResult(SimpleNamespace):
    pass


class dbtRunner:
    def __init__(self, manifest: Any = None, callbacks: list[Any] | None = None) -> None:
        self.manifest = manifest
        self.callbacks = callbacks or []

    def _emit(self, *args: Any, **kwargs: Any) -> None:
        for callback in self.callbacks:
            callback(_event(*args, **kwargs))

    def _finish(self, node: dict[str, Any], status: str = "success") -> None:
        self._emit("NodeStart", node=node)
        self._emit("NodeFinished", node=node, status=status)

    def invoke(self, args: list[str]) -> Any:
        _INVOCATION[0] = str(uuid.uuid4())
        try:
            return self._invoke(args)
        except BaseException as exc:  # as dbtRunner does
            return dbtRunnerResult(success=False, exception=exc, result=None)

    def _invoke(self, args: list[str]) -> Any:
        command = args[0]
        self._emit("MainReportVersion", msg=f"stub dbt {command}")
        if command == "parse":
            return dbtRunnerResult(success=True, exception=None, result=SimpleNamespace(sources={}))
        if command == "nodes":
            for index in range(int(args[1])):
                self._emit("NodeStart", node=_node(index))
                time.sleep(float(args[2]))
                self._emit("NodeFinished", node=_node(index), status="success")
            return dbtRunnerResult(success=True, exception=None, result=None)
        self._finish(_node("first"))
        if command == "crash":
            os._exit(9)
        slow = _node("slow")
        seconds = float(args[1]) if len(args) > 1 else 600.0
        deadline = time.monotonic() + seconds
        started = False
        while time.monotonic() < deadline:
            try:  # the start event too: a busy machine may deliver SIGINT while the worker still sends it
                if not started:
                    started = True
                    self._emit("NodeStart", node=slow)
                time.sleep(0.05)
            except KeyboardInterrupt:
                _mark("interrupted")
                if command != "stubborn":
                    self._emit("CancelLine", level="error", msg="CANCEL query model.stub.node_slow")
                    raise
        self._emit("NodeFinished", node=slow, status="success")
        return dbtRunnerResult(success=True, exception=None, result=None)
