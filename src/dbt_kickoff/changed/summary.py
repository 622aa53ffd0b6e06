"""The reasons a changed-only call gives for building a node (the decision itself is
:class:`~dbt_kickoff.reports.ChangeSummary`, kept in the run record's ``report.json`` under ``"changed"``)."""

from __future__ import annotations

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
