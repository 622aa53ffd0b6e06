"""What a changed-only call decided: why everything was built (or not), what was left alone, and what the next
call compares against (kept in the run record's ``report.json`` under ``"changed"``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

CODE_CHANGED = "code changed"
FAILED_LAST_TIME = "failed last time"
SKIPPED_LAST_TIME = "skipped last time"
ALWAYS_BUILD = "always_build"
NO_USABLE_RUN = "no usable previous run"


def fresher(source: str) -> str:
    return f"source {source} fresher"


def went_back(source: str) -> str:
    return f"source {source} changed (its newest loaded_at went back)"


def new_dlt_load(table: str) -> str:
    return f"new dlt load in {table}"


def cannot_check(source: str, why: str) -> str:
    return f"source {source} cannot be checked ({why})"


def no_usable_run(why: str) -> str:
    return f"{NO_USABLE_RUN}: {why}"


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

    @property
    def unchanged_count(self) -> int:
        return len(self.unchanged)

    @property
    def built_everything(self) -> bool:
        return self.full_build_reason is not None

    def describe(self) -> str:
        """One line for people: what was built and why."""
        timing = f"decision {self.decision_seconds:.2f}s"
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
        )
