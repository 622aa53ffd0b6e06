"""Default step artifacts (run_results.json, sources.json, manifest.json, catalog.json), dbt-shaped."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from dbt_kickoff_emulator.naming import DATABASE, PROJECT_NAME, SCHEMA, node_name
from dbt_kickoff_emulator.noderuns import NodeRun

DBT_VERSION = "1.9.0"
RELATION_TYPES = ("model", "seed", "snapshot")
DOCS_VERB = "docs"
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
    "source": ("source",),
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


def runs_nodes(command: str) -> bool:
    """Whether ``command`` runs nodes one by one ("N of M" lines, a summary at the end)."""
    return command_verb(command) in _VERB_TYPES


def writes_node_artifacts(command: str) -> bool:
    """Whether a step running ``command`` writes run_results.json and manifest.json."""
    return command_verb(command) not in ("deps", "clean", "debug")


def _iso_z(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _result_entry(run: NodeRun) -> dict[str, Any]:
    skipped = run.status == "skipped"
    started = run.started_at
    finished = run.finished_at or started
    relation = f'"{DATABASE}"."{SCHEMA}"."{run.name}"' if run.kind in ("model", "seed", "snapshot") else None
    return {
        "status": run.status,
        "timing": []
        if skipped or started is None or finished is None
        else [
            {"name": "compile", "started_at": _iso_z(started), "completed_at": _iso_z(started)},
            {"name": "execute", "started_at": _iso_z(started), "completed_at": _iso_z(finished)},
        ],
        "thread_id": f"{run.thread} (worker)",
        "execution_time": 0.0 if skipped else round(run.seconds, 4),
        "adapter_response": {}
        if run.rows is None
        else {"_message": run.message, "code": str(run.message).split()[0], "rows_affected": run.rows},
        "message": run.message,
        "failures": run.failures,
        "unique_id": run.unique_id,
        "compiled": not skipped,
        "compiled_code": None if skipped else
        (f"select * from {run.name}" if run.kind != "test" else "select 1 where false"),
        "relation_name": relation,
        "batch_results": None,
    }


def make_run_results(
    command: str, runs: Sequence[NodeRun], *, started_at: datetime, finished_at: datetime, invocation_id: str
) -> dict[str, Any]:
    """The ``run_results.json`` of a step that ran ``runs`` (in the order they finished, as dbt writes it)."""
    done = sorted((r for r in runs if r.finished), key=lambda r: (r.finished_at, r.index))
    return {
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json",
            "dbt_version": DBT_VERSION,
            "generated_at": _iso_z(finished_at),
            "invocation_id": invocation_id,
            "env": {"DBT_CLOUD_PROJECT_ID": "", "DBT_CLOUD_RUN_ID": ""},
        },
        "results": [_result_entry(run) for run in done],
        "elapsed_time": round((finished_at - started_at).total_seconds(), 4),
        "args": {"which": command_verb(command), "invocation_command": command},
    }


def make_sources(runs: Sequence[NodeRun], *, finished_at: datetime, invocation_id: str) -> dict[str, Any]:
    """The ``sources.json`` of a ``dbt source freshness`` step."""
    results = []
    for run in runs:
        if not run.finished:
            continue
        started = run.started_at or finished_at
        results.append({
            "unique_id": run.unique_id,
            "max_loaded_at": _iso_z(started),
            "snapshotted_at": _iso_z(run.finished_at or started),
            "max_loaded_at_time_ago_in_s": 120.0,
            "status": run.status,
            "criteria": {"warn_after": {"count": 12, "period": "hour"}, "error_after": {"count": 24, "period": "hour"},
                         "filter": None},
            "adapter_response": {},
            "timing": [{"name": "execute", "started_at": _iso_z(started),
                        "completed_at": _iso_z(run.finished_at or started)}],
            "thread_id": f"{run.thread} (worker)",
            "execution_time": round(run.seconds, 4),
        })
    return {
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/sources/v3.json",
            "dbt_version": DBT_VERSION,
            "generated_at": _iso_z(finished_at),
            "invocation_id": invocation_id,
        },
        "results": results,
        "elapsed_time": 0.0,
    }


def _manifest_node(unique_id: str, parents: list[str]) -> dict[str, Any]:
    kind, name = unique_id.split(".", 1)[0], node_name(unique_id)
    node: dict[str, Any] = {
        "unique_id": unique_id,
        "resource_type": kind,
        "name": name,
        "alias": name,
        "package_name": PROJECT_NAME,
        "path": f"{name}.sql",
        "original_file_path": f"{kind}s/{name}.sql",
        "schema": SCHEMA,
        "database": DATABASE,
        "fqn": [PROJECT_NAME, name],
        "language": "sql",
        "config": {"materialized": "table" if kind == "model" else kind, "severity": "ERROR"},
        "tags": [],
        "meta": {},
        "description": "",
        "columns": {},
        "depends_on": {"macros": [], "nodes": parents},
        "compiled_code": "select 1 where false" if kind == "test" else f"select * from {name}",
    }
    if kind in RELATION_TYPES:
        node["relation_name"] = f'"{DATABASE}"."{SCHEMA}"."{name}"'
    if kind == "test":
        node["attached_node"] = parents[0] if parents else None
        node["test_metadata"] = {"name": "not_null", "kwargs": {"column_name": "id"}, "namespace": None}
    return node


def _source(unique_id: str) -> dict[str, Any]:
    _, _, source_name, table = [*unique_id.split("."), "", "", ""][:4]
    return {
        "unique_id": unique_id, "resource_type": "source", "name": table, "source_name": source_name,
        "identifier": table, "schema": source_name, "database": DATABASE, "package_name": PROJECT_NAME,
        "fqn": [PROJECT_NAME, source_name, table], "columns": {}, "description": "", "tags": [], "meta": {},
        "loaded_at_field": "_loaded_at", "freshness": {"warn_after": {"count": 12, "period": "hour"}},
    }


def make_manifest(nodes: Sequence[str], *, invocation_id: str, generated_at: datetime) -> dict[str, Any]:
    """A manifest.json naming ``nodes`` (their schema is ``dbt_prod``, their alias their name). The DAG is a
    chain: each model or snapshot reads the relation before it (the first one reads the sources), each test
    the relation before it."""
    manifest_nodes: dict[str, Any] = {}
    sources = {uid: _source(uid) for uid in nodes if uid.startswith("source.")}
    previous: str | None = None
    for unique_id in nodes:
        kind = unique_id.split(".", 1)[0]
        if kind == "source":
            continue
        if kind == "seed":
            parents: list[str] = []
        elif previous is None:
            parents = list(sources) if kind != "test" else []
        else:
            parents = [previous]
        manifest_nodes[unique_id] = _manifest_node(unique_id, parents)
        if kind in RELATION_TYPES:
            previous = unique_id
    everything = {**manifest_nodes, **sources}
    children: dict[str, list[str]] = {uid: [] for uid in everything}
    for uid, node in manifest_nodes.items():
        for parent in node["depends_on"]["nodes"]:
            children.setdefault(parent, []).append(uid)
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
        "sources": sources,
        "macros": {},
        "docs": {},
        "exposures": {},
        "metrics": {},
        "groups": {},
        "selectors": {},
        "disabled": {},
        "parent_map": {uid: list(node["depends_on"]["nodes"]) for uid, node in manifest_nodes.items()}
        | {uid: [] for uid in sources},
        "child_map": children,
        "group_map": {},
        "saved_queries": {},
        "semantic_models": {},
        "unit_tests": {},
    }


def make_catalog(nodes: Sequence[str], *, invocation_id: str, generated_at: datetime) -> dict[str, Any]:
    """A catalog.json for the relation-backed ``nodes`` (what ``dbt docs generate`` writes)."""
    tables = {}
    for unique_id in nodes:
        if unique_id.split(".", 1)[0] not in RELATION_TYPES:
            continue
        name = node_name(unique_id)
        tables[unique_id] = {
            "metadata": {"type": "BASE TABLE", "schema": SCHEMA, "name": name, "database": DATABASE},
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
