"""The test bed of changed-only builds: a generated branched package, its loads, a runner with records, and
the reference every changed-only build is checked against (a full build of the same data on a copy)."""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.branch_loads import ROWS, Warehouse, load_all, load_rows
from bench.generate_package import BranchedPackage, generate_branched_package
from bench.table_equality import duckdb_differences, postgres_differences

import dbt_kickoff
from dbt_kickoff import NodeResult
from dbt_kickoff.changed import ChangeSummary
from dbt_kickoff.reports import RunReport

SCHEMA = "analytics"
FULL_SCHEMA = "analytics_full"  # PostgreSQL: the reference full build writes here, beside SCHEMA
THREADS = 4
SMALL = {"models": 60, "branches": 5, "dlt_branches": 2, "tables": 2, "layers": 3, "test_every": 4}
"""The package of most scenarios: 5 branches (2 loaded by dlt), 10 source tables, ~90 nodes."""


@dataclass
class Bed:
    """One package and one warehouse (a DuckDB file, or a PostgreSQL database) with its run records."""

    root: Path
    package: BranchedPackage
    warehouse: Warehouse
    next_id: int = ROWS + 1
    last_report: RunReport = field(default_factory=RunReport)

    @property
    def records(self) -> Path:
        return self.root / "records"

    def destination(self, schema: str = SCHEMA) -> dict[str, Any]:
        if self.warehouse.duckdb_path is not None:
            return {"type": "duckdb", "path": str(self.warehouse.duckdb_path)}
        assert self.warehouse.postgres is not None
        return {**self.warehouse.postgres, "type": "postgres"}

    def runner(self, **options: Any) -> dbt_kickoff.PackageRunner:
        """A runner as a scheduled task makes one: records on, this bed's schema."""
        return dbt_kickoff.package(self.destination(), self.package.path, dataset_name=SCHEMA, threads=THREADS,
                                   records=self.records, warm_start=False, **options)

    def build(self, **build_options: Any) -> list[NodeResult]:
        """``build(**build_options)`` in a new runner (as a scheduled task runs it); a failing build returns its
        results too. The runner's report is kept in ``last_report``."""
        with self.runner() as runner:
            try:
                return runner.build(**build_options)
            except dbt_kickoff.DBTProcessingError as error:
                return list(error.run_results)
            finally:
                self.last_report = runner.last_report

    def changed_only(self) -> list[NodeResult]:
        return self.build(changed_only=True)

    @property
    def changed(self) -> ChangeSummary:
        """What the last changed-only call decided."""
        assert self.last_report.changed is not None, "the last call was no changed-only call"
        return self.last_report.changed

    def expect(self, results: Iterable[NodeResult], reasons: Mapping[str, str],
               sources: Iterable[str] = (), seeds: Iterable[str] = ()) -> None:
        """Assert that exactly the models of ``reasons`` (name -> reason), the tests of those models and of
        ``sources`` (``source:b.t``) were built (or skipped), each model for its reason, each test for the
        reason of what it tests), and of the other nodes exactly the ``seeds``."""
        results = list(results)
        models = {r.model_name: r.reason for r in results if r.resource_type == "model"}
        missing, extra = sorted(set(reasons) - set(models)), sorted(set(models) - set(reasons))
        assert not missing and not extra, f"models not built: {missing[:10]}; built but unchanged: {extra[:10]}"
        wrong = {name: (models[name], why) for name, why in reasons.items() if models[name] != why}
        assert not wrong, f"reasons (got, expected): {dict(list(wrong.items())[:10])}"
        targets = set(reasons) | set(sources)
        tests = {r.model_name for r in results if r.resource_type == "test"}
        expected_tests = {name for name, target in self.package.tests.items() if target in targets}
        assert tests == expected_tests, (
            f"tests not built: {sorted(expected_tests - tests)[:10]}; extra: {sorted(tests - expected_tests)[:10]}")
        other = {r.model_name for r in results if r.resource_type not in ("model", "test")}
        assert other == set(seeds), f"other nodes built: {sorted(other)}, expected {sorted(seeds)}"

    def load(self, branch: str, tables: Iterable[str], count: int = 30) -> None:
        """``count`` new rows in ``tables`` of ``branch``, with that branch's loader."""
        load_rows(self.package.branch(branch), self.warehouse, self.root / "dlt", tables=list(tables),
                  first_id=self.next_id, count=count)
        self.next_id += count

    def edit(self, relative: str, old: str, new: str) -> None:
        path = self.package.path / relative
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {relative}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    def differences_from_full_build(self, *, rebuild: bool = True) -> dict[str, str]:
        """Build everything from the same data on a copy (no records) and compare every relation of the
        model schema; ``{}`` when all are equal, else ``{relation: why}``. ``rebuild=False`` compares with the
        last reference again (when neither code nor data changed since)."""
        if self.warehouse.duckdb_path is not None:
            source = self.warehouse.duckdb_path
            copy = source.with_name(f"full_{source.name}")
            if rebuild:
                copy.unlink(missing_ok=True)
                shutil.copy2(source, copy)
                _full_build(self.package.path, {"type": "duckdb", "path": str(copy)}, SCHEMA, self.root)
            return duckdb_differences(source, copy, SCHEMA)
        assert self.warehouse.postgres is not None
        if rebuild:
            _full_build(self.package.path, {**self.warehouse.postgres, "type": "postgres"}, FULL_SCHEMA, self.root)
        return postgres_differences(self.warehouse.postgres, SCHEMA, FULL_SCHEMA)


def _full_build(package_dir: Path, destination: Mapping[str, Any], schema: str, root: Path) -> None:
    # the reference runs on its own copy of the package (updated in place, so its partial-parse cache stays):
    # it shares no dbt target/ folder, and no record, with the bed
    copy = root / "full_package"
    shutil.copytree(package_dir, copy, ignore=shutil.ignore_patterns("target", "logs"), dirs_exist_ok=True)
    runner = dbt_kickoff.package(dict(destination), copy, dataset_name=schema, threads=THREADS, records=False,
                                 warm_start=False)
    with runner:
        try:
            runner.build()
        except dbt_kickoff.DBTProcessingError as error:  # the bed's failing model fails here too: compared as such
            assert {r.model_name for r in error.run_results if r.status == "error"} <= _failing(package_dir), error


def _failing(package_dir: Path) -> set[str]:
    return {p.stem for p in package_dir.glob("models/*/*.sql") if "raw_fix.factors" in p.read_text()}


def make_bed(root: Path, warehouse: Warehouse, **generator: Any) -> Bed:
    """Generate the package into ``root``/package, load every source, and return the bed (nothing built)."""
    root.mkdir(parents=True, exist_ok=True)
    package = generate_branched_package(root / "package", **generator)
    load_all(package, warehouse, root / "dlt")
    return Bed(root, package, warehouse)


def built(results: Iterable[NodeResult], resource_type: str = "model") -> set[str]:
    """Names of the nodes of ``resource_type`` that dbt executed (any status but skipped)."""
    return {r.model_name for r in results if r.resource_type == resource_type and r.status != "skipped"}
