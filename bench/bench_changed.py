"""Changed-only builds (issue 11) versus full builds, each measured as a whole process (an orchestrator task).

The package: ``generate_branched_package`` (1,000 models in 6 branches, 30 source tables: 3 branches loaded by
dlt, 3 by a plain loader with ``loaded_at``), DuckDB, 4 threads. Every measurement starts from the same state
(the package built once by a changed-only call, which leaves the run record it compares against), then one
source table of the 30 receives 30 new rows (outside the timing), then one process runs:

- ``dbt build``                      plain dbt, a full build
- ``kickoff build()``                 ``dbt_kickoff.package(...).build()``, a full build
- ``kickoff build(changed_only)``     ``dbt_kickoff.package(...).build(changed_only=True)``

Each variant has its own copy of the package (its own partial-parse cache, filled by an unmeasured
``dbt parse`` first), its own DuckDB file and run records, reset before every measurement. Printed: medians,
ratios, and the changed-only call's decision time (records, dlt load ids, ``dbt source freshness``, ``dbt ls``:
``ChangeSummary.decision_seconds``; the kickoff processes start dbt first and time that apart, as the build
needs it anyway). Finally the changed-only build's tables are compared with the full
build's (``EXCEPT ALL`` both ways). Targets: changed-only <= 0.2 x a full build; the decision <= 2 s.

    .venv/bin/python bench/bench_changed.py [--repeat 1] [--models 1000] [--table b4.t2] [--rows 30]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from branch_loads import ROWS, Warehouse, load_all, load_rows
from common import (
    DBT,
    PYTHON,
    Sample,
    dbt_env,
    duckdb_profiles,
    fresh_copy,
    measure_round_robin,
    print_table,
    ratios,
    run_process,
    write_results,
)
from generate_package import BRANCHED_PROJECT_NAME, BranchedPackage, generate_branched_package
from table_equality import duckdb_differences

PLAIN_BUILD = "dbt build"
KICKOFF_BUILD = "kickoff build()"
KICKOFF_CHANGED = "kickoff build(changed_only)"
VARIANTS = (PLAIN_BUILD, KICKOFF_BUILD, KICKOFF_CHANGED)
SCHEMA = "analytics"
THREADS = 4

KICKOFF_SCRIPT = """
import json, sys, time
from pathlib import Path
import dbt_kickoff
path, package_dir, records, mode, out = sys.argv[1:]
runner = dbt_kickoff.package({"type": "duckdb", "path": path}, package_dir, dataset_name="SCHEMA", threads=THREADS,
                             records=records, warm_start=False)
with runner:
    started = time.perf_counter()
    runner.session.start(Path(package_dir))  # importing dbt: timed apart from the decision
    start_s = time.perf_counter() - started
    if mode == "parse":
        runner.invoke(["parse"])
    else:
        results = runner.build(changed_only=mode == "changed")
        changed = runner.last_report.changed
        with open(out, "w") as file:
            json.dump({"nodes": len(results), "dbt_start_s": start_s,
                       "changed": changed.to_dict() if changed else None}, file)
""".replace("THREADS", str(THREADS)).replace("SCHEMA", SCHEMA)


class Variant:
    """One variant's package copy, DuckDB file and records folder, and how to measure it."""

    def __init__(self, name: str, index: int, workdir: Path, package_dir: Path) -> None:
        self.name = name
        self.project = fresh_copy(package_dir, workdir / f"v{index}-package")
        self.database = workdir / f"v{index}_warehouse.duckdb"
        self.records = workdir / f"v{index}-records"
        self.decision = workdir / f"v{index}-decision.json"
        self.profiles = duckdb_profiles(workdir / f"v{index}-profiles", profile=BRANCHED_PROJECT_NAME,
                                        path=self.database, schema=SCHEMA, threads=THREADS)
        self.workdir = workdir

    def kickoff(self, mode: str) -> Sample:
        return run_process([str(PYTHON), "-c", KICKOFF_SCRIPT, str(self.database), str(self.project),
                            str(self.records), mode, str(self.decision)], cwd=self.workdir, env=dbt_env())

    def plain(self, command: str) -> Sample:
        return run_process([str(DBT), command, "--profiles-dir", str(self.profiles)], cwd=self.project,
                           env=dbt_env())

    def measure(self) -> Sample:
        if self.name == PLAIN_BUILD:
            return self.plain("build")
        return self.kickoff("changed" if self.name == KICKOFF_CHANGED else "full")

    def warm_up(self) -> None:
        """Fill this copy's partial-parse cache, as earlier runs of a scheduled task would have."""
        if self.name == PLAIN_BUILD:
            self.plain("parse")
        else:
            self.kickoff("parse")


def prepare(workdir: Path, shape: dict[str, int],
            log: Callable[[str], None]) -> tuple[BranchedPackage, Path, Path]:
    """Generate and load the package, build it once by a changed-only call (the first: everything) and keep
    that state: (package, pristine DuckDB file, pristine records)."""
    package = generate_branched_package(workdir / "package", failing=False, **shape)
    database = workdir / "pristine_warehouse.duckdb"
    load_all(package, Warehouse(duckdb_path=database), workdir / "dlt")
    log(f"generated {len(package.models)} models in {len(package.branches)} branches, loaded; first build...")
    return package, database, workdir / "pristine-records"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=1, help="measured runs per variant (default 1)")
    parser.add_argument("--models", type=int, default=1000, help="models in the package (default 1000)")
    parser.add_argument("--test-every", type=int, default=3, help="one model in N has data tests (default 3)")
    parser.add_argument("--shape", default="branches=6,tables=5,layers=5",
                        help="more generator options (default branches=6,tables=5,layers=5)")
    parser.add_argument("--table", default="b4.t2", help="the source table that changes (default b4.t2)")
    parser.add_argument("--rows", type=int, default=30, help="new rows in that table (default 30; 0: nothing changed)")
    parser.add_argument("--workdir", type=Path, help="keep the work files here (default: a temp folder)")
    args = parser.parse_args()
    branch_name, table = args.table.split(".")

    with tempfile.TemporaryDirectory(prefix="kickoff-bench-changed-") as temp:
        workdir = args.workdir or Path(temp)
        workdir.mkdir(parents=True, exist_ok=True)
        shape = {"models": args.models, "test_every": args.test_every,
                 **{k: int(v) for k, v in (item.split("=") for item in args.shape.split(",") if item)}}
        package, pristine, pristine_records = prepare(workdir, shape, print)
        branch = package.branch(branch_name)
        variants = {name: Variant(name, i, workdir, package.path) for i, name in enumerate(VARIANTS)}
        changed = variants[KICKOFF_CHANGED]
        # the first changed-only call of the changed variant's copy builds everything and leaves its record
        fresh_copy(pristine, changed.database)
        first = changed.kickoff("changed")
        print(f"  first changed-only build (everything): {first.seconds:.1f} s")
        fresh_copy(changed.database, pristine)
        fresh_copy(changed.records, pristine_records)
        for variant in variants.values():
            variant.warm_up()

        def reset(name: str) -> None:
            variant = variants[name]
            variant.database.with_name(variant.database.name + ".wal").unlink(missing_ok=True)
            fresh_copy(pristine, variant.database)
            if name == KICKOFF_CHANGED:
                fresh_copy(pristine_records, variant.records)
            elif variant.records.exists():
                shutil.rmtree(variant.records)
            if args.rows:  # --rows 0: nothing changed (the decision's cost alone)
                load_rows(branch, Warehouse(duckdb_path=variant.database), workdir / "dlt", tables=[table],
                          first_id=ROWS + 1, count=args.rows)

        decisions: list[dict[str, object]] = []

        def measure_changed() -> Sample:
            sample = changed.measure()
            decisions.append(json.loads(changed.decision.read_text(encoding="utf-8")))
            return sample

        runners: dict[str, Callable[[], Sample]] = {name: v.measure for name, v in variants.items()}
        runners[KICKOFF_CHANGED] = measure_changed
        series = measure_round_robin(runners, repeat=args.repeat, warmup=0, before_each=reset,
                                     package=f"gen{args.models}")

        summaries = [d["changed"] for d in decisions if isinstance(d.get("changed"), dict)]
        if not summaries or any(s.get("full_build_reason") for s in summaries):  # type: ignore[union-attr]
            raise SystemExit(f"the changed-only call built everything: {summaries[:1]}")
        decision_s = statistics.median(float(s["decision_seconds"]) for s in summaries)  # type: ignore[index]
        built = [int(d["nodes"]) for d in decisions]  # type: ignore[call-overload]
        dbt_start = statistics.median(float(d["dbt_start_s"]) for d in decisions)  # type: ignore[arg-type]
        print_table(f"changed-only vs full builds, {args.models} models, {args.rows} new rows in {args.table}",
                    series, [PLAIN_BUILD, KICKOFF_BUILD])
        print(f"changed-only: {statistics.median(built):.0f} nodes built; reasons {summaries[-1]['reasons']}; "
              f"decision {decision_s:.2f} s (median; target <= 2 s), after starting dbt in {dbt_start:.2f} s")
        differences = duckdb_differences(changed.database, variants[KICKOFF_BUILD].database, SCHEMA)
        print("tables equal to the full build's" if not differences
              else f"TABLES DIFFER from the full build's: {dict(list(differences.items())[:10])}")
        path = write_results("changed", {
            "models": args.models, "table": args.table, "rows": args.rows, "repeat": args.repeat,
            "series": [s.to_dict() for s in series], "ratios": ratios(series, [PLAIN_BUILD, KICKOFF_BUILD]),
            "decision_seconds": decision_s, "dbt_start_seconds": dbt_start, "changed_nodes": built,
            "reasons": summaries[-1]["reasons"],
            "tables_equal": not differences,
        })
        print(f"results: {path}")
        if differences:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
