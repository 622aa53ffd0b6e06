"""What broke, what it took down and how to resume: the failure side of one call, from its record.

Computed from a record's ``report.json`` (or a :class:`~dbt_kickoff.reports.RunReport` in the same shape) and
its ``manifest.json`` (the DAG): each failing node with the skipped nodes downstream of it, the other skipped
nodes (``--fail-fast`` skips what was not downstream), the ``run_all`` steps that never ran, the record and the
command that resumes the call. The terminal output of ``run``/``retry``/``report`` and the HTML report show it.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dbt_kickoff.records.retry import steps_not_run as pending_steps
from dbt_kickoff.redaction import MASK
from dbt_kickoff.results import NodeResult


@dataclass(frozen=True)
class Failure:
    """A failing node and the skipped nodes downstream of it (what it took down)."""

    result: NodeResult
    took_down: list[NodeResult] = field(default_factory=list)


@dataclass
class CallOutcome:
    """The failure side of a call; empty lists (and ``resume=None``) for a successful one."""

    outcome: str | None
    failures: list[Failure] = field(default_factory=list)
    skipped_otherwise: list[NodeResult] = field(default_factory=list)
    """Skipped nodes downstream of no failure (``--fail-fast`` stops what was running or queued)."""
    steps_not_run: list[str] = field(default_factory=list)
    record: str | None = None
    resume: str | None = None
    """The command that finishes the call (``dbt-kickoff retry <record>``), when it failed and has a record."""
    error: str | None = None
    """The call's error when no node failed (a cancel, a timeout, dbt failing before any node)."""

    @property
    def skipped(self) -> list[NodeResult]:
        downstream = {r.unique_id: r for f in self.failures for r in f.took_down}
        return [*downstream.values(), *self.skipped_otherwise]

    @property
    def failed(self) -> bool:
        return self.outcome not in (None, "success")

    def headline(self, call: str | None = None) -> str:
        """One line: ``run_all failed: 1 node failed (broken), 3 skipped; steps not run: test``."""
        parts = []
        if self.failures:
            names = ", ".join(f.result.model_name for f in self.failures[:5])
            more = f" and {len(self.failures) - 5} more" if len(self.failures) > 5 else ""
            parts.append(f"{len(self.failures)} node(s) failed ({names}{more})")
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped")
        head = f"{call or 'the call'} {self.outcome or 'failed'}"
        head += f": {', '.join(parts)}" if parts else ""
        if self.steps_not_run:
            head += f"; steps not run: {', '.join(self.steps_not_run)}"
        return head


def descendants(manifest: Mapping[str, Any] | None) -> dict[str, set[str]]:
    """Each node's children, from the manifest's ``child_map`` (or its nodes' ``depends_on``)."""
    children: dict[str, set[str]] = {}
    if not manifest:
        return children
    if manifest.get("child_map"):
        for parent, kids in manifest["child_map"].items():
            children[parent] = set(kids)
        return children
    if manifest.get("parent_map"):
        for child, parents in manifest["parent_map"].items():
            for parent in parents:
                children.setdefault(parent, set()).add(child)
        return children
    for section in ("nodes", "sources", "snapshots"):
        for unique_id, node in (manifest.get(section) or {}).items():
            for parent in (node.get("depends_on") or {}).get("nodes") or ():
                children.setdefault(parent, set()).add(unique_id)
    return children


def _downstream(start: str, children: Mapping[str, set[str]]) -> set[str]:
    seen: set[str] = set()
    stack = [start]
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return seen


@dataclass(frozen=True)
class _RecordedPackage:
    """What a record tells of its package's run_all steps: packages installed, seeds in its manifest."""

    has_package_dependencies: bool
    has_seeds: bool


def steps_not_run(data: Mapping[str, Any], manifest: Mapping[str, Any] | None = None) -> list[str]:
    """The steps a failed call never reached (run_all's deps, seed, source tests, run, test; a retry's pending
    ones), by name."""
    ran = {str(step.get("command")) for step in data.get("steps") or ()}
    seeds = any(str(uid).startswith("seed.") for uid in (manifest or {}).get("nodes") or {})
    return pending_steps(data, _RecordedPackage("deps" in ran, "seed" in ran or seeds))


def resume_command(record: str | None, destination_flags: Sequence[str] = ()) -> str | None:
    """``dbt-kickoff retry <record> [flags]``: a record path with spaces is quoted for a shell."""
    if not record:
        return None
    return " ".join(["dbt-kickoff", "retry", shlex.quote(record), *destination_flags])


def destination_needs_secrets(data: Mapping[str, Any]) -> bool:
    """True when the record's destination reads credentials that records never keep (``env_var()``)."""
    output = (data.get("destination") or {}).get("output")
    text = json.dumps(output) if output else ""
    return "env_var(" in text or MASK in text


def call_outcome(data: Mapping[str, Any], manifest: Mapping[str, Any] | None = None, *,
                 destination_flags: Sequence[str] | None = None) -> CallOutcome:
    """The failure side of the call ``data`` (a record's report.json, or ``RunReport.to_dict()``).

    ``destination_flags`` are what ``retry`` needs to reach the destination again (``--destination-env X``);
    by default a placeholder is shown when the record's destination needs credentials."""
    results = [NodeResult.from_dict(r) for step in data.get("steps") or () for r in step.get("results") or ()]
    outcome = data.get("outcome")
    summary = CallOutcome(outcome=outcome, record=data.get("record"))
    if outcome in (None, "success"):
        return summary
    children = descendants(manifest)
    skipped = {r.unique_id: r for r in results if r.status == "skipped"}
    claimed: set[str] = set()
    for result in results:
        if result.is_failure:
            below = _downstream(result.unique_id, children)
            took_down = [skipped[uid] for uid in skipped if uid in below]
            claimed.update(r.unique_id for r in took_down)
            summary.failures.append(Failure(result=result, took_down=took_down))
    summary.skipped_otherwise = [r for uid, r in skipped.items() if uid not in claimed]
    summary.steps_not_run = steps_not_run(data, manifest)
    if not summary.failures:
        summary.error = data.get("error")
    if destination_flags is None:
        destination_flags = ["--destination-env", "NAME"] if destination_needs_secrets(data) else []
    summary.resume = resume_command(summary.record, destination_flags)
    return summary
