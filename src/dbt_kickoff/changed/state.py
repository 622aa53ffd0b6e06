"""dbt's ``--state`` folder for a changed-only call, made from the run records.

``manifest.json`` is the last complete good run's, with the nodes that later runs built successfully taken
from those runs' manifests (so ``state:modified`` compares each node with the code its table was last built
from). ``run_results.json`` holds the nodes later runs left failed or skipped (for ``result:error`` and
friends; newest status wins). ``sources.json`` is the freshness the good run recorded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dbt_kickoff.changed.history import History
from dbt_kickoff.records.reading import Record

RERUN_STATUSES = ("error", "fail", "skipped", "runtime error")


class StateUnusable(Exception):
    """The records cannot give a trustworthy ``--state`` (the message says why)."""


@dataclass
class State:
    folder: Path
    manifest: dict[str, Any]
    fingerprints: list[str | None]
    """The project-file fingerprint of the good run and of each later run."""
    rerun: dict[str, str] = field(default_factory=dict)
    """unique_id -> status for nodes later runs left failed or skipped."""
    sources: dict[str, Any] | None = None
    snapshot: dict[str, Any] = field(default_factory=dict)
    """What the good run's changed-only decision recorded for the next one (dlt load ids...)."""

    def code_unchanged(self, fingerprint: str) -> bool:
        """True when no project file changed since the good run and the runs after it."""
        return all(f == fingerprint for f in self.fingerprints)


def _json(record: Record, file: str) -> dict[str, Any] | None:
    try:
        return record.json(file)
    except (OSError, ValueError):
        return None


def _step_results(record: Record) -> list[dict[str, Any]]:
    """Every run_results entry of a record's steps, in step order."""
    entries: list[dict[str, Any]] = []
    for folder in record.data.get("step_dirs") or ():
        data = _json(record, f"{folder}/run_results.json")
        entries += (data or {}).get("results") or []
    return entries


def make_state(history: History, folder: Path) -> State:
    """Write the ``--state`` folder; :class:`StateUnusable` when the records cannot give one."""
    baseline = history.baseline
    assert baseline is not None
    manifest = _json(baseline, "manifest.json")
    if manifest is None:
        raise StateUnusable(f"the record {baseline.name} has no readable manifest.json")
    snapshot = (baseline.data.get("changed") or {}).get("snapshot") or {}
    if not snapshot and isinstance(baseline.data.get("sources_before"), dict):  # a full build's
        snapshot = baseline.data["sources_before"]
    state = State(folder=folder, manifest=manifest, snapshot=dict(snapshot),
                  fingerprints=[baseline.data.get("fingerprint")], sources=_json(baseline, "sources.json"))
    template: dict[str, Any] | None = None
    rerun_entries: dict[str, dict[str, Any]] = {}
    for record in history.later:
        state.fingerprints.append(record.data.get("fingerprint"))
        entries = _step_results(record)
        if not entries:
            continue
        built = _json(record, "manifest.json") or {}
        for entry in entries:
            unique_id, status = entry.get("unique_id"), entry.get("status")
            if not unique_id:
                continue
            if status in RERUN_STATUSES:
                rerun_entries[unique_id] = entry
            else:
                rerun_entries.pop(unique_id, None)
                node = (built.get("nodes") or {}).get(unique_id)
                if node is not None:  # its table now holds what that run's code built
                    manifest.setdefault("nodes", {})[unique_id] = node
        template = _json(record, "run_results.json") or template
        if record.data.get("running"):
            raise StateUnusable(f"the run {record.name} was stopped while nodes were running "
                                f"({', '.join(record.data['running'][:5])})")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    if state.sources is not None:
        (folder / "sources.json").write_text(json.dumps(state.sources), encoding="utf-8")
    if rerun_entries:
        if template is None:
            raise StateUnusable("later runs left failures but no run_results.json to read them from")
        template["results"] = list(rerun_entries.values())
        (folder / "run_results.json").write_text(json.dumps(template), encoding="utf-8")
        state.rerun = {uid: str(entry.get("status")) for uid, entry in rerun_entries.items()}
    return state
