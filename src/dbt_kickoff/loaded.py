"""What a load changed, and which dbt sources (and so which models) that touches."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dbt_kickoff.errors import ConfigurationError, KickoffError

DLT_INTERNAL_TABLES = frozenset({"_dlt_loads", "_dlt_pipeline_state", "_dlt_version"})


class LoadFailed(KickoffError):
    """The load reported failed jobs: the transform must not run on a broken load."""


@dataclass(frozen=True, order=True)
class LoadedTable:
    """A table a load wrote into: ``schema`` (dataset) and ``table``, compared case-insensitively."""

    schema: str
    table: str

    @classmethod
    def parse(cls, text: str, default_schema: str | None = None) -> LoadedTable:
        parts = text.strip().split(".")
        if len(parts) == 2 and all(parts):
            return cls(parts[0].lower(), parts[1].lower())
        if len(parts) == 1 and parts[0] and default_schema:
            return cls(default_schema.lower(), parts[0].lower())
        raise ConfigurationError(f"a loaded table must be written as 'schema.table', not {text!r}")

    def __str__(self) -> str:
        return f"{self.schema}.{self.table}"


def _from_load_info(load_info: Any, include_dlt_tables: bool) -> set[LoadedTable]:
    if getattr(load_info, "has_failed_jobs", False):
        raise LoadFailed(
            "the load has failed jobs, so the transform is not run; fix the load first "
            "(load_info.raise_on_failed_jobs() shows which)"
        )
    dataset = str(load_info.dataset_name)
    tables: set[LoadedTable] = set()
    for package in load_info.load_packages:
        for job in package.jobs.get("completed_jobs", []):
            name = job.job_file_info.table_name
            if include_dlt_tables or name not in DLT_INTERNAL_TABLES:
                tables.add(LoadedTable(dataset.lower(), name.lower()))
    return tables


def loaded_tables(loaded: Any, *, default_schema: str | None = None,
                  include_dlt_tables: bool = False) -> set[LoadedTable]:
    """Tables written by a load: a dlt ``LoadInfo``, or an iterable of ``"schema.table"`` names (a bare
    ``"table"`` uses ``default_schema``). dlt's own tables (``_dlt_loads``…) are left out unless asked for.
    A ``LoadInfo`` with failed jobs raises :class:`LoadFailed`."""
    if loaded is None:
        return set()
    if hasattr(loaded, "load_packages") and hasattr(loaded, "dataset_name"):
        return _from_load_info(loaded, include_dlt_tables)
    if isinstance(loaded, str):
        raise ConfigurationError("pass a list of 'schema.table' names, not a single string")
    return {LoadedTable.parse(str(item), default_schema) for item in loaded}


def source_selectors(tables: Iterable[LoadedTable], sources: Sequence[Mapping[str, Any]]) -> list[str]:
    """dbt selectors for everything downstream of the sources that read ``tables``: ``source:NAME.TABLE+``.

    Sources are matched by their resolved schema and identifier from the manifest, not by guessing names.
    """
    wanted = set(tables)
    selectors = set()
    for source in sources:
        identifier = source.get("identifier") or source["name"]
        if LoadedTable(str(source["schema"]).lower(), str(identifier).lower()) in wanted:
            selectors.add(f"source:{source['source_name']}.{source['name']}+")
    return sorted(selectors)
