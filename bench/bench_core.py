"""dbt-kickoff's Core runner versus plain dbt, each measured as a whole process.

Variants, on the demo package (after its dlt load) and on a generated N-model package, DuckDB:

- ``dbt build``                       one plain ``dbt build`` process
- ``dbt deps+seed+run+test``          four plain dbt processes, one after the other
- ``kickoff build()``                  a python process: ``dbt_kickoff.package(...).build()``
- ``kickoff run_all()``                a python process: ``dbt_kickoff.package(...).run_all()``

dbt-kickoff's numbers include its own interpreter start and import. Each variant works in its own copy of
the package and its own DuckDB file, reset before every measurement (outside the timing); one unmeasured
warm-up run per variant fills dbt's partial-parse cache first. Medians and ratios are printed as a table and
written to bench/results/core-*.json.

    .venv/bin/python bench/bench_core.py [--repeat 5] [--packages demo,generated] [--models 200]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    DBT,
    PYTHON,
    Sample,
    Series,
    dbt_env,
    duckdb_profiles,
    fresh_copy,
    measure_round_robin,
    print_table,
    ratios,
    run_chain,
    run_process,
    write_results,
)
from generate_package import generate_package

PLAIN_BUILD = "dbt build"
PLAIN_STEPS = "dbt deps+seed+run+test"
KICKOFF_BUILD = "kickoff build()"
KICKOFF_RUN_ALL = "kickoff run_all()"
VARIANTS = (PLAIN_BUILD, PLAIN_STEPS, KICKOFF_BUILD, KICKOFF_RUN_ALL)
THREADS = 4

KICKOFF_SCRIPT = """
import json, sys
import dbt_kickoff
path, package_dir, dataset, method, variables = sys.argv[1:]
destination = {"type": "duckdb", "path": path}
runner = dbt_kickoff.package(destination, package_dir, dataset_name=dataset, threads=THREADS)
with runner:
    getattr(runner, method)(additional_vars=json.loads(variables))
""".replace("THREADS", str(THREADS))


LOAD_SCRIPT = """
import sys
from pathlib import Path
from dbt_kickoff.demo.data import load_sample_data
load_sample_data(Path(sys.argv[1]), "raw_shop", pipelines_dir=Path(sys.argv[2]))
"""


class BenchPackage:
    """A package to measure: its folder, its profile name, and the DuckDB file state every run starts from."""

    def __init__(
        self,
        name: str,
        project_dir: Path,
        profile: str,
        pristine_db: Path | None,
        variables: dict[str, str],
        dataset: str,
    ) -> None:
        self.name = name
        self.project_dir = project_dir
        self.profile = profile
        self.pristine_db = pristine_db
        self.variables = variables
        self.dataset = dataset


def demo_package(workdir: Path) -> BenchPackage:
    from dbt_kickoff.demo import DBT_PACKAGE_DIR

    database = workdir / "demo-pristine.duckdb"
    # loaded in a child process: this process stays small, so the peak RSS of measured children is their own
    run_process([str(PYTHON), "-c", LOAD_SCRIPT, str(database), str(workdir / "dlt")], cwd=workdir)
    return BenchPackage(
        "demo",
        DBT_PACKAGE_DIR,
        "dbt_kickoff_demo",
        database,
        {"source_dataset_name": "raw_shop", "destination_dataset_name": "shop_metrics"},
        "shop_metrics",
    )


def generated_package(workdir: Path, models: int) -> BenchPackage:
    project = generate_package(workdir / f"generated-{models}", models)
    return BenchPackage(
        f"gen{models}",
        project,
        "bench_generated",
        None,
        {"source_dataset_name": "bench", "destination_dataset_name": "bench"},
        "bench",
    )



def bench_package(name: str, workdir: Path, models: int) -> BenchPackage:
    """The package a benchmark names: ``demo`` or ``generated`` (``models`` models)."""
    if name == "demo":
        return demo_package(workdir)
    if name == "generated":
        return generated_package(workdir, models)
    raise ValueError(f"unknown package {name!r}: use demo or generated")

def variant_runners(
    package: BenchPackage, workdir: Path
) -> tuple[dict[str, Callable[[], Sample]], Callable[[str], None]]:
    """One measuring callable per variant, each in its own copy of the package and its own database."""
    env = dbt_env()
    variables = json.dumps(package.variables)
    runners: dict[str, Callable[[], Sample]] = {}
    databases: dict[str, Path] = {}
    for index, variant in enumerate(VARIANTS):
        project = fresh_copy(package.project_dir, workdir / f"{package.name}-v{index}")
        database = workdir / f"{package.name}-v{index}.duckdb"
        databases[variant] = database
        profiles = duckdb_profiles(
            workdir / f"{package.name}-v{index}-profiles",
            profile=package.profile,
            path=database,
            schema=package.dataset,
            threads=THREADS,
        )
        plain = ["--profiles-dir", str(profiles), "--vars", variables]
        if variant == PLAIN_BUILD:
            runners[variant] = lambda p=project, a=plain: run_process([str(DBT), "build", *a], cwd=p, env=env)
        elif variant == PLAIN_STEPS:
            runners[variant] = lambda p=project, a=plain: run_chain(
                [
                    [str(DBT), "deps", "--profiles-dir", a[1]],
                    *[[str(DBT), step, *a] for step in ("seed", "run", "test")],
                ],
                cwd=p,
                env=env,
            )
        else:
            method = "build" if variant == KICKOFF_BUILD else "run_all"
            runners[variant] = lambda p=project, d=database, m=method: run_process(
                [str(PYTHON), "-c", KICKOFF_SCRIPT, str(d), str(p), package.dataset, m, variables],
                cwd=workdir,
                env=env,
            )

    def reset(variant: str) -> None:
        database = databases[variant]
        for leftover in (database, database.with_name(database.name + ".wal")):
            leftover.unlink(missing_ok=True)
        if package.pristine_db is not None:
            fresh_copy(package.pristine_db, database)

    return runners, reset


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5, help="measured runs per variant (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured runs per variant first (default 1)")
    parser.add_argument("--packages", default="demo,generated", help="comma list of: demo, generated")
    parser.add_argument(
        "--models", type=int, default=200, help="models in the generated package (default 200)"
    )
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma list of variants to run")
    parser.add_argument("--workdir", type=Path, help="keep the work files here (default: a temp folder)")
    args = parser.parse_args()
    chosen = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = set(chosen) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variants {sorted(unknown)}; choose from {list(VARIANTS)}")

    with tempfile.TemporaryDirectory(prefix="kickoff-bench-") as temp:
        workdir = args.workdir or Path(temp)
        workdir.mkdir(parents=True, exist_ok=True)
        series: list[Series] = []
        for name in [p.strip() for p in args.packages.split(",") if p.strip()]:
            try:
                package = bench_package(name, workdir, args.models)
            except ValueError as exc:
                parser.error(str(exc))
            runners, reset = variant_runners(package, workdir)
            print(f"{package.name}: {len(chosen)} variants x ({args.warmup} warm-up + {args.repeat} runs)")
            series += measure_round_robin(
                {v: runners[v] for v in chosen},
                repeat=args.repeat,
                warmup=args.warmup,
                before_each=reset,
                package=package.name,
            )
    baselines = [b for b in (PLAIN_BUILD, PLAIN_STEPS) if b in chosen]
    print_table("dbt-kickoff vs plain dbt (whole processes, medians)", series, baselines)
    path = write_results(
        "core",
        {
            "repeat": args.repeat,
            "warmup": args.warmup,
            "threads": THREADS,
            "series": [s.to_dict() for s in series],
            "ratios": ratios(series, baselines),
            "targets": {"kickoff build() / dbt build": 1.1, "kickoff run_all() / dbt build": 1.1},
        },
    )
    print(f"results written to {path}")


if __name__ == "__main__":
    main()
