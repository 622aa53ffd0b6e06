"""One dbt-kickoff call in a process of its own, as a scheduled task makes it (run by the tests with
``sys.executable``; only ``dbt_kickoff`` is imported).

Reads one JSON object on standard input (never argv: destinations may carry passwords)::

    {"destination": {...}, "project": PATH, "package": {package() options},
     "method": "build" | "run_all" | "retry", "arguments": {the method's keyword arguments}}

Prints ``{"started": NAME}`` when a node starts (so a test can stop the process mid-run), then one line
``{"outcome": {...}}``: the node results (name, unique id, type, status, reason), the error raised (type and
message), what the changed-only decision said (``last_report.changed``) and why dbt did not run (``skipped``).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import dbt_kickoff
from dbt_kickoff.engines import DbtEvent


def announce(event: DbtEvent) -> None:
    if event.name == "NodeStart" and event.node is not None:
        print(json.dumps({"started": event.node.name}), flush=True)


def result_rows(results: Any) -> list[dict[str, Any]]:
    return [{"name": r.model_name, "unique_id": r.unique_id, "resource_type": r.resource_type,
             "status": r.status, "reason": r.reason} for r in results]


def main() -> None:
    request = json.load(sys.stdin)
    outcome: dict[str, Any] = {"results": [], "error": None, "changed": None, "skipped": None}
    with dbt_kickoff.package(request["destination"], request["project"], on_event=announce,
                             **request.get("package", {})) as runner:
        try:
            results = getattr(runner, request["method"])(**request.get("arguments", {}))
            outcome["results"] = result_rows(results)
            outcome["skipped"] = getattr(results, "skipped", None)
        except dbt_kickoff.KickoffError as error:
            outcome["error"] = {"type": type(error).__name__, "message": str(error)}
            outcome["results"] = result_rows(getattr(error, "run_results", None) or [])
        changed = runner.last_report.changed
        if changed is not None:
            outcome["changed"] = {"describe": changed.describe(), "full_build_reason": changed.full_build_reason,
                                  "reasons": changed.reasons, "dbt_started": changed.dbt_started}
    print(json.dumps({"outcome": outcome}), flush=True)


if __name__ == "__main__":
    main()
