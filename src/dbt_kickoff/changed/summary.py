"""The reasons a changed-only call gives for building a node (the decision itself is
:class:`~dbt_kickoff.reports.ChangeSummary`, kept in the run record's ``report.json`` under ``"changed"``)."""

from __future__ import annotations

from dbt_kickoff.fingerprint import DYNAMIC

CODE_CHANGED = "code changed"
FAILED_LAST_TIME = "failed last time"
SKIPPED_LAST_TIME = "skipped last time"
ALWAYS_BUILD = "always_build"
NO_USABLE_RUN = "no usable previous run"
PROJECT_VARS_CHANGED = "vars in dbt_project.yml changed (dbt compares no vars: every node may read them)"
PROJECT_HOOKS_CHANGED = "on-run-start/on-run-end hooks in dbt_project.yml changed (they belong to no node)"
RELATION_MOVED = "its relation moved (database, schema or alias: generate_schema_name...)"
INPUTS_NOT_RECORDED = "the last good run recorded no vars, env vars or large seeds to compare with"
LARGE_SEED_CHANGED = "seed over 1 MiB changed (compared by content: dbt compares only its path)"


def fresher(source: str) -> str:
    return f"source {source} fresher"


def went_back(source: str) -> str:
    return f"source {source} changed (its newest loaded_at went back)"


def rows_changed(source: str, then: int | None, now: int) -> str:
    return f"source {source} changed (its rows went from {then} to {now})"


def new_dlt_load(table: str) -> str:
    return f"new dlt load in {table}"


def cannot_check(source: str, why: str) -> str:
    return f"source {source} cannot be checked ({why})"


def no_usable_run(why: str) -> str:
    return f"{NO_USABLE_RUN}: {why}"


def package_vars_changed(package: str) -> str:
    return f"vars in the dbt_project.yml of package {package} changed"


def env_var_reason(name: str, comparable: bool) -> str:
    """Why a node reading ``env_var(name)`` is built: its value changed, or it cannot be compared."""
    if comparable:
        return f"env_var('{name}') changed"
    if name == DYNAMIC:
        return "env_var() with a computed name cannot be checked"
    return f"env_var('{name}') cannot be checked (a secret's value is never recorded)"
