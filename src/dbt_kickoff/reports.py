"""What a public runner call did, step by step: :class:`RunReport` and :class:`StepReport` (and a changed-only
call's :class:`ChangeSummary`), with their JSON form."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from dbt_kickoff.results import NodeResult, parse_timestamp


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass
class ChangeSummary:
    """The decision of one changed-only call.

    ``full_build_reason`` says why everything was built (``None`` when only what changed was); ``baseline`` is
    the record compared against; ``unchanged`` the unique ids of the nodes left alone; ``reasons`` how many
    nodes were built for each reason; ``selectors`` what dbt was given; ``decision_seconds`` how long the
    decision took (state comparison, freshness and dlt queries); ``dbt_started`` whether it needed dbt.
    ``snapshot`` is what the next call compares against: the project files' fingerprint, dlt load ids per
    schema and table, each measured source's newest ``loaded_at`` (``loaded_at``), and the nodes
    ``always_build`` selected (reused while the files are unchanged).
    """

    full_build_reason: str | None = None
    baseline: str | None = None
    selectors: list[str] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict)
    unchanged: list[str] = field(default_factory=list)
    decision_seconds: float = 0.0
    dbt_started: bool = False
    snapshot: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    """Why the decision itself failed (dbt could not parse the project...); nothing was built then."""

    @property
    def unchanged_count(self) -> int:
        return len(self.unchanged)

    @property
    def built_everything(self) -> bool:
        return self.full_build_reason is not None

    def describe(self) -> str:
        """One line for people: what was built and why."""
        timing = f"decision {self.decision_seconds:.2f}s"
        if self.error:
            return f"changed-only: the decision failed, nothing was built ({self.error.splitlines()[0]}); {timing}"
        if self.full_build_reason:
            return f"changed-only: everything built ({self.full_build_reason}); {timing}"
        built = sum(self.reasons.values())
        if not built:
            started = "" if self.dbt_started else ", dbt not started"
            return f"changed-only: nothing changed, {self.unchanged_count} node(s) left alone ({timing}{started})"
        why = ", ".join(f"{count} {reason}" for reason, count in sorted(self.reasons.items(), key=lambda i: -i[1]))
        return f"changed-only: {built} node(s) built ({why}), {self.unchanged_count} unchanged ({timing})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "full_build_reason": self.full_build_reason,
            "baseline": self.baseline,
            "selectors": list(self.selectors),
            "reasons": dict(self.reasons),
            "unchanged_count": self.unchanged_count,
            "unchanged": list(self.unchanged),
            "decision_seconds": round(self.decision_seconds, 3),
            "dbt_started": self.dbt_started,
            "snapshot": dict(self.snapshot),
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChangeSummary:
        return cls(
            full_build_reason=data.get("full_build_reason"),
            baseline=data.get("baseline"),
            selectors=list(data.get("selectors") or ()),
            reasons=dict(data.get("reasons") or {}),
            unchanged=list(data.get("unchanged") or ()),
            decision_seconds=float(data.get("decision_seconds") or 0.0),
            dbt_started=bool(data.get("dbt_started")),
            snapshot=dict(data.get("snapshot") or {}),
            error=data.get("error"),
        )


@dataclass
class WarmStateSummary:
    """What warm state (dbt's parse state and installed packages kept in the run records store) put in place for
    one call before dbt started.

    ``restored``: ``"parse state"`` and/or ``"packages"``; ``source``: the store they came from; ``partial_parse``:
    dbt's verdict on the restored parse state (``"accepted"``, or why dbt parsed the whole project instead;
    ``None`` until dbt parsed); ``ignored``: stored entries not used, and why; ``seconds``: time spent restoring
    each (download and unpacking included).
    """

    restored: list[str] = field(default_factory=list)
    source: str | None = None
    partial_parse: str | None = None
    ignored: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"restored": list(self.restored), "source": self.source, "partial_parse": self.partial_parse,
                "ignored": list(self.ignored), "seconds": {k: round(v, 3) for k, v in self.seconds.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WarmStateSummary:
        return cls(restored=list(data.get("restored") or ()), source=data.get("source"),
                   partial_parse=data.get("partial_parse"), ignored=list(data.get("ignored") or ()),
                   seconds={str(k): float(v) for k, v in (data.get("seconds") or {}).items()})


@dataclass
class StepReport:
    """One dbt command of a run: its arguments, node results and wall time."""

    command: str
    results: list[NodeResult]
    duration: float
    warnings: list[str] = field(default_factory=list)
    full_refresh_retry: bool = False
    parsed: bool = True
    """False when a warm runner reused its parsed manifest (no parse at all for this step)."""
    args: list[str] = field(default_factory=list)
    """The dbt command line, secrets masked."""
    invocation_id: str | None = None
    started_at: datetime | None = None
    success: bool | None = None
    nothing_selected: bool = False
    """True when the step's selection matched no nodes (nothing ran; not an error)."""
    target_dir: Path | None = field(default=None, compare=False)
    """Where dbt wrote this step's artifacts (not serialized: a local path of this run)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "args": list(self.args),
            "invocation_id": self.invocation_id,
            "started_at": _iso(self.started_at),
            "duration": round(self.duration, 3),
            "success": self.success,
            "parsed": self.parsed,
            "full_refresh_retry": self.full_refresh_retry,
            "nothing_selected": self.nothing_selected,
            "warnings": list(self.warnings),
            "results": [r.to_dict() for r in self.results],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StepReport:
        return cls(
            command=str(data.get("command", "")),
            results=[NodeResult.from_dict(r) for r in data.get("results", ())],
            duration=float(data.get("duration") or 0.0),
            warnings=list(data.get("warnings", ())),
            full_refresh_retry=bool(data.get("full_refresh_retry")),
            parsed=bool(data.get("parsed", True)),
            args=list(data.get("args", ())),
            invocation_id=data.get("invocation_id"),
            started_at=parse_timestamp(data.get("started_at")),
            success=data.get("success"),
            nothing_selected=bool(data.get("nothing_selected")),
        )


@dataclass
class RunReport:
    """What the last public call did, step by step, and on which commit of the package.

    ``outcome`` is ``"success"``, ``"failed"`` (dbt reported failures), ``"cancelled"``, ``"timeout"`` or
    ``"error"`` (anything else stopped the call); ``None`` while the call runs. ``record`` is where the run's
    record was written, when one was.
    """

    steps: list[StepReport] = field(default_factory=list)
    commit_sha: str | None = None
    call: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    outcome: str | None = None
    error: str | None = None
    record: str | None = None
    changed: ChangeSummary | None = None
    """What a changed-only call decided (why nodes were built, which were left alone); ``None`` otherwise."""
    packages: str | None = None
    """How the call had the package's dbt packages: ``"up to date"`` (installed before), ``"restored"`` (from the
    warm state in the run records store), ``"installed"`` (``dbt deps`` ran); ``None``: the call needed none."""
    warm_state: WarmStateSummary | None = None
    """What warm state restored before dbt started (``None``: nothing)."""

    @property
    def results(self) -> list[NodeResult]:
        return [r for step in self.steps for r in step.results]

    @property
    def success(self) -> bool:
        return self.outcome == "success"

    def add(self, step: StepReport) -> None:
        """Append a finished step."""
        self.steps.append(step)

    def to_dict(self) -> dict[str, Any]:
        return {
            "call": self.call,
            "outcome": self.outcome,
            "error": self.error,
            "commit_sha": self.commit_sha,
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "record": self.record,
            "steps": [s.to_dict() for s in self.steps],
            "changed": self.changed.to_dict() if self.changed is not None else None,
            **({"packages": self.packages} if self.packages is not None else {}),
            **({"warm_state": self.warm_state.to_dict()} if self.warm_state is not None else {}),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunReport:
        return cls(
            steps=[StepReport.from_dict(s) for s in data.get("steps", ())],
            commit_sha=data.get("commit_sha"),
            call=data.get("call"),
            started_at=parse_timestamp(data.get("started_at")),
            finished_at=parse_timestamp(data.get("finished_at")),
            outcome=data.get("outcome"),
            error=data.get("error"),
            record=data.get("record"),
            changed=ChangeSummary.from_dict(data["changed"]) if data.get("changed") else None,
            packages=data.get("packages"),
            warm_state=WarmStateSummary.from_dict(data["warm_state"]) if data.get("warm_state") else None,
        )
