"""A synthetic run record (``report.json`` + the manifest's ``parent_map``) shaped like a real ``build`` of a
big package: seeds, models in layers on a few threads after dbt's start-up and parse, a test per model, a
warning test, failing models whose downstream nodes are skipped. For the report's size and render time at
1,000+ models (``bench_records.py``) and the report tests, without running dbt for minutes.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from typing import Any

START = datetime(2026, 12, 1, 12, tzinfo=timezone.utc)


def synthetic_record(models: int = 1000, *, failing: tuple[int, ...] = (137,), threads: int = 8, seed: int = 7,
                     started: datetime = START, startup: float = 6.0,
                     slower: dict[int, float] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(report.json, manifest) of a ``build`` of ``models`` models in package ``big``; model ``i`` in
    ``failing`` ends in error (its downstream nodes are skipped); ``slower`` adds seconds to some models."""
    rng = random.Random(seed)
    parents: dict[str, list[str]] = {}
    order: list[tuple[str, str]] = [(f"seed.big.seed_{i}", "seed") for i in range(4)]
    for uid, _ in order:
        parents[uid] = []
    for i in range(models):
        uid = f"model.big.m{i:04d}"
        earlier = [f"model.big.m{j:04d}" for j in rng.sample(range(max(i - 60, 0), i), min(i, 2))] if i else []
        parents[uid] = earlier or [f"seed.big.seed_{i % 4}"]
        order.append((uid, "model"))
        test = f"test.big.not_null_m{i:04d}_id.{i:010x}"
        parents[test] = [uid]
        order.append((test, "test"))
    warn = "test.big.warn_me"
    parents[warn] = ["model.big.m0000"]
    order.append((warn, "test"))
    doomed = {f"model.big.m{i:04d}" for i in failing if i < models}
    children: dict[str, list[str]] = {}
    for child, ups in parents.items():
        for parent in ups:
            children.setdefault(parent, []).append(child)
    skipped: set[str] = set()
    stack = list(doomed)
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in skipped:
                skipped.add(child)
                stack.append(child)
    clock = [startup] * threads
    results = []
    for uid, kind in order:
        name = uid.split(".")[2]
        if uid in skipped:
            results.append({"model_name": name, "unique_id": uid, "resource_type": kind, "status": "skipped",
                            "time": 0.0, "message": None, "thread_id": None, "started_at": None,
                            "completed_at": None})
            continue
        thread = min(range(threads), key=lambda t: clock[t])
        began = clock[thread]
        took = rng.uniform(0.02, 0.15) if kind == "test" else rng.uniform(0.05, 1.2)
        took += (slower or {}).get(int(name[1:]) if name.startswith("m") and name[1:].isdigit() else -1, 0.0)
        clock[thread] += took + 0.005
        status, message = {"seed": ("success", "INSERT 200"), "model": ("success", "OK"),
                           "test": ("pass", None)}[kind]
        if uid in doomed:
            status = "error"
            message = (f"Runtime Error in model {name} (models/{name}.sql)\n  Conversion Error: Could not convert "
                       "string 'oops' to INT32\n\n  LINE 11: select cast('oops' as integer) as id\n"
                       "                  ^^^^^^^^^^^^^^^^^^^^^^^")
        if uid == warn:
            status, message = "warn", "Got 1 result, configured to warn if != 0"
        results.append({"model_name": name, "unique_id": uid, "resource_type": kind, "status": status,
                        "time": took, "message": message, "thread_id": f"Thread-{thread + 1} (worker)",
                        "started_at": (started + timedelta(seconds=began)).isoformat(),
                        "completed_at": (started + timedelta(seconds=began + took)).isoformat()})
    duration = max(clock) + 0.8
    outcome = "failed" if doomed else "success"
    data = {
        "call": "build", "outcome": outcome, "error": "dbt build failed" if doomed else None,
        "started_at": started.isoformat(), "finished_at": (started + timedelta(seconds=duration + 0.3)).isoformat(),
        "duration": duration + 0.3, "record": None,
        "steps": [{"command": "build", "args": ["build", "--project-dir", "/work/big", "--threads", str(threads)],
                   "duration": duration, "success": not doomed, "started_at": started.isoformat(),
                   "parsed": True, "warnings": ["Got 1 result, configured to warn if != 0"], "results": results}],
        "package": {"project_name": "big", "location": "/work/big"}, "identity": {"dbt_version": "1.11.2"},
        "destination": {"type": "duckdb", "output": {"type": "duckdb", "path": "/work/big.duckdb",
                                                     "schema": "main"}},
        "params": {"cmd_params": []},
    }
    return data, {"parent_map": parents}
