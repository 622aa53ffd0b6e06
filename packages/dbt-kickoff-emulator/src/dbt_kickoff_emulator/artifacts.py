"""Default step artifacts (run_results.json, manifest.json, catalog.json) and step logs, dbt-shaped."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

DBT_VERSION = "1.9.0"
PROJECT_NAME = "analytics"
DEFAULT_NODES: tuple[str, ...] = (
    "seed.analytics.raw_orders",
    "model.analytics.stg_orders",
    "model.analytics.orders",
    "test.analytics.not_null_orders_order_id.5b8d3a1f2c",
)
_VERB_TYPES = {
    "build": ("seed", "model", "snapshot", "test"),
    "run": ("model",),
    "test": ("test",),
    "seed": ("seed",),
    "snapshot": ("snapshot",),
    "retry": ("seed", "model", "snapshot", "test"),
}
_CONTENT_TYPES = {
    ".json": "application/json",
    ".parquet": "application/x-parquet",
    ".sql": "text/plain; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".log": "text/plain; charset=utf-8",
}


def command_verb(command: str) -> str:
    """``"dbt build -s tag:x"`` -> ``"build"``."""
    words = command.split()
    if words and words[0] == "dbt":
        words = words[1:]
    return words[0] if words else ""


def nodes_for(command: str, nodes: Sequence[str]) -> list[str]:
    """The nodes a dbt command executes, by resource type."""
    types = _VERB_TYPES.get(command_verb(command), ())
    return [n for n in nodes if n.split(".", 1)[0] in types]


def writes_node_artifacts(command: str) -> bool:
    """Whether a step running ``command`` writes run_results.json and manifest.json."""
    return command_verb(command) not in ("deps", "clean", "debug")


def _iso_z(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _failing_node(executed: Sequence[str]) -> str | None:
    for node in executed:
        if node.startswith("model."):
            return node
    return executed[0] if executed else None


def make_run_results(
    command: str,
    nodes: Sequence[str],
    *,
    failed: bool,
    started_at: datetime,
    invocation_id: str,
) -> dict[str, Any]:
    """A realistic run_results.json for ``command`` over ``nodes``; ``failed`` makes one node fail."""
    executed = nodes_for(command, nodes)
    failing = _failing_node(executed) if failed else None
    results: list[dict[str, Any]] = []
    moment = started_at
    seen_failure = False
    for position, unique_id in enumerate(executed):
        kind, _, rest = unique_id.partition(".")
        name = rest.split(".")[1] if "." in rest else rest
        compile_start, execute_end = moment, moment + timedelta(seconds=0.25 + 0.05 * position)
        rows: int | None = 3 + position if kind in ("model", "seed") else None
        status, message, failures = (
            ("pass", "PASS", 0) if kind == "test" else ("success", f"SELECT {rows}", None)
        )
        if kind == "seed":
            message = f"INSERT {rows}"
        if seen_failure:
            status, message, failures, rows = "skipped", "SKIP", None, None
        elif unique_id == failing:
            seen_failure = True
            if kind == "test":
                status, message, failures, rows = "fail", "Got 1 result, configured to fail if != 0", 1, None
            else:
                status, rows, failures = "error", None, None
                message = (
                    f"Database Error in {kind} {name} ({kind}s/{name}.sql)\n"
                    '  relation "raw.orders" does not exist\n'
                    f"  compiled code at target/run/{PROJECT_NAME}/{kind}s/{name}.sql"
                )
        results.append(
            {
                "status": status,
                "timing": []
                if status == "skipped"
                else [
                    {
                        "name": "compile",
                        "started_at": _iso_z(compile_start),
                        "completed_at": _iso_z(compile_start),
                    },
                    {
                        "name": "execute",
                        "started_at": _iso_z(compile_start),
                        "completed_at": _iso_z(execute_end),
                    },
                ],
                "thread_id": f"Thread-{position % 4 + 1} (worker)",
                "execution_time": 0.0 if status == "skipped" else round(0.25 + 0.05 * position, 4),
                "adapter_response": {}
                if rows is None
                else {"_message": message, "code": message.split()[0], "rows_affected": rows},
                "message": None if status == "skipped" else message,
                "failures": failures,
                "unique_id": unique_id,
                "compiled": status != "skipped",
                "compiled_code": f"select * from {name}" if kind != "test" else "select 1 where false",
                "relation_name": f'"analytics"."dbt_prod"."{name}"' if kind != "test" else None,
                "batch_results": None,
            }
        )
        moment = execute_end
    return {
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json",
            "dbt_version": DBT_VERSION,
            "generated_at": _iso_z(moment),
            "invocation_id": invocation_id,
            "env": {"DBT_CLOUD_PROJECT_ID": "", "DBT_CLOUD_RUN_ID": ""},
        },
        "results": results,
        "elapsed_time": round((moment - started_at).total_seconds(), 4),
        "args": {"which": command_verb(command), "invocation_command": command},
    }


def make_manifest(nodes: Sequence[str], *, invocation_id: str, generated_at: datetime) -> dict[str, Any]:
    """A small manifest.json naming ``nodes``."""
    manifest_nodes: dict[str, Any] = {}
    for unique_id in nodes:
        kind, _, rest = unique_id.partition(".")
        name = rest.split(".")[1] if "." in rest else rest
        manifest_nodes[unique_id] = {
            "unique_id": unique_id,
            "resource_type": kind,
            "name": name,
            "package_name": PROJECT_NAME,
            "path": f"{name}.sql",
            "original_file_path": f"{kind}s/{name}.sql",
            "schema": "dbt_prod",
            "database": "analytics",
            "fqn": [PROJECT_NAME, name],
            "depends_on": {"macros": [], "nodes": []},
        }
    return {
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json",
            "dbt_version": DBT_VERSION,
            "generated_at": _iso_z(generated_at),
            "invocation_id": invocation_id,
            "project_name": PROJECT_NAME,
            "adapter_type": "postgres",
        },
        "nodes": manifest_nodes,
        "sources": {},
        "macros": {},
        "docs": {},
        "exposures": {},
        "metrics": {},
        "groups": {},
        "selectors": {},
        "disabled": {},
        "parent_map": {n: [] for n in nodes},
        "child_map": {n: [] for n in nodes},
        "group_map": {},
        "saved_queries": {},
        "semantic_models": {},
        "unit_tests": {},
    }


def make_catalog(nodes: Sequence[str], *, invocation_id: str, generated_at: datetime) -> dict[str, Any]:
    """A catalog.json for the relation-backed ``nodes`` (what ``dbt docs generate`` writes)."""
    tables = {}
    for unique_id in nodes:
        kind, _, rest = unique_id.partition(".")
        if kind not in ("model", "seed", "snapshot"):
            continue
        name = rest.split(".")[1] if "." in rest else rest
        tables[unique_id] = {
            "metadata": {"type": "BASE TABLE", "schema": "dbt_prod", "name": name, "database": "analytics"},
            "columns": {"order_id": {"type": "integer", "index": 1, "name": "order_id", "comment": None}},
            "stats": {},
            "unique_id": unique_id,
        }
    return {
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/catalog/v1.json",
            "dbt_version": DBT_VERSION,
            "generated_at": _iso_z(generated_at),
            "invocation_id": invocation_id,
        },
        "nodes": tables,
        "sources": {},
        "errors": None,
    }


def summarize_logs(command: str, run_results: Mapping[str, Any] | None, *, failed: bool) -> str:
    """The console log text dbt Cloud shows for a step."""
    lines = [f"Running with dbt={DBT_VERSION}", f"Registered adapter: postgres={DBT_VERSION}"]
    results = list((run_results or {}).get("results", []))
    for position, entry in enumerate(results, start=1):
        status = str(entry.get("status")).upper()
        message = entry.get("message") or "SKIP"
        lines.append(f"{position} of {len(results)} {status} {entry.get('unique_id')} [{message}]")
    if failed:
        lines.append("")
        lines.append("Completed with 1 error, 0 partial successes, and 0 warnings:")
        for entry in results:
            if entry.get("status") in ("error", "fail"):
                lines.append(str(entry.get("message")))
        if not results:
            lines.append(f"Encountered an error while running `{command}`")
    else:
        lines.append("")
        lines.append("Completed successfully")
    counts = {key: 0 for key in ("PASS", "WARN", "ERROR", "SKIP")}
    for entry in results:
        key = {"success": "PASS", "pass": "PASS", "warn": "WARN", "skipped": "SKIP"}.get(
            entry.get("status"), "ERROR"
        )
        counts[key] += 1
    total = sum(counts.values())
    lines.append(
        f"Done. PASS={counts['PASS']} WARN={counts['WARN']} ERROR={counts['ERROR']} "
        f"SKIP={counts['SKIP']} TOTAL={total}"
    )
    return "\n".join(lines)


def setup_step_logs(name: str, *, failed: bool) -> str:
    """Logs of a setup step (clone, profile, deps)."""
    if failed:
        return f"{name}\nERROR: the step failed; see debug logs for details."
    return f"{name}\nDone."


def debug_logs_from(logs: str, command: str | None) -> str:
    """A debug log: the console log surrounded by dbt's debug lines."""
    head = [f"[debug] invoking {command or 'setup'}", "[debug] Acquiring new postgres connection"]
    return "\n".join([*head, *logs.splitlines(), "[debug] Connection closed"])


def invocation_id_for(run_id: int, step_index: int) -> str:
    """A stable invocation id for a run step."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"dbt-kickoff-emulator/{run_id}/{step_index}"))


def encode_artifact(value: Any) -> bytes:
    """Bytes served for an artifact value: bytes verbatim, str as UTF-8, anything else as JSON."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    return json.dumps(value).encode("utf-8")


def content_type_for(path: str) -> str:
    """The Content-Type served for an artifact path."""
    for suffix, ctype in _CONTENT_TYPES.items():
        if path.endswith(suffix):
            return ctype
    return "application/octet-stream"
