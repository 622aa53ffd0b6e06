"""A new process per task, as orchestrators run us: dbt-kickoff with a dlt pipeline as the destination versus
plain ``dbt build``, each measured as a whole process on the demo package (DuckDB, after its dlt load).

Variants:

- ``dbt build``                   one plain ``dbt build`` process (profiles.yml written for it)
- ``kickoff build() (dlt)``       a python process: ``import dlt``, ``dlt.pipeline(...)`` (the pipeline that
                                  loaded the data), ``dbt_kickoff.package(pipeline, ...).build()``
- ``kickoff run_all() (dlt)``     the same with ``run_all()`` (seed, run, test)

What a task process pays is all in: its interpreter start, importing dlt and dbt-kickoff, the dbt worker's
start (overlapping the caller's own work), the parse (warm: one unmeasured warm-up run per variant fills the
partial-parse state first, as in production from the second run on) and the build. Every variant has its own
package copy and DuckDB file, reset to the loaded state before each run (outside the timing). Medians and
ratios to ``dbt build`` are printed and written to bench/results/new-process-*.json. Target: ≤ 1.1x.
Measured processes may write bytecode caches (``PYTHONDONTWRITEBYTECODE`` is dropped): without them every
process compiles dlt's and dbt's sources again, which no installed environment does.

    .venv/bin/python bench/bench_new_process.py [--repeat 5] [--warmup 1]
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
    dbt_env,
    duckdb_profiles,
    fresh_copy,
    measure_round_robin,
    print_table,
    ratios,
    run_process,
    write_results,
)

PLAIN_BUILD = "dbt build"
KICKOFF_BUILD = "kickoff build() (dlt)"
KICKOFF_RUN_ALL = "kickoff run_all() (dlt)"
VARIANTS = (PLAIN_BUILD, KICKOFF_BUILD, KICKOFF_RUN_ALL)
THREADS = 4
SOURCE_DATASET = "raw_shop"
DATASET = "shop_metrics"
PIPELINE = "bench_shop"

LOAD_SCRIPT = f"""
import sys
from pathlib import Path
from dbt_kickoff.demo.data import load_sample_data
load_sample_data(Path(sys.argv[1]), {SOURCE_DATASET!r}, pipeline_name={PIPELINE!r}, pipelines_dir=Path(sys.argv[2]))
"""

# What a user's task does after the load task: attach to the pipeline and transform what it loaded.
KICKOFF_SCRIPT = f"""
import sys
import dlt
import dbt_kickoff
database, pipelines_dir, package_dir, method = sys.argv[1:]
pipeline = dlt.pipeline(pipeline_name={PIPELINE!r}, pipelines_dir=pipelines_dir,
                        destination=dlt.destinations.duckdb(database), dataset_name={SOURCE_DATASET!r})
with dbt_kickoff.package(pipeline, package_dir, dataset_name={DATASET!r}, threads={THREADS}) as runner:
    getattr(runner, method)()
"""


def variant_runners(workdir: Path, pristine: Path, pipelines: Path) -> tuple[dict[str, Callable[[], Sample]],
                                                                             Callable[[str], None]]:
    from dbt_kickoff.demo import DBT_PACKAGE_DIR

    env = dbt_env()
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # bytecode caches, as every installed environment has them
    runners: dict[str, Callable[[], Sample]] = {}
    databases: dict[str, Path] = {}
    variables = json.dumps({"source_dataset_name": SOURCE_DATASET, "destination_dataset_name": DATASET})
    for index, variant in enumerate(VARIANTS):
        project = fresh_copy(DBT_PACKAGE_DIR, workdir / f"demo-v{index}")
        database = databases[variant] = workdir / f"demo-v{index}.duckdb"
        if variant == PLAIN_BUILD:
            profiles = duckdb_profiles(workdir / f"demo-v{index}-profiles", profile="dbt_kickoff_demo",
                                       path=database, schema=DATASET, threads=THREADS)
            argv = [str(DBT), "build", "--profiles-dir", str(profiles), "--vars", variables]
            runners[variant] = lambda p=project, a=argv: run_process(a, cwd=p, env=env)  # type: ignore[misc]
        else:
            method = "build" if variant == KICKOFF_BUILD else "run_all"
            argv = [str(PYTHON), "-c", KICKOFF_SCRIPT, str(database), str(pipelines), str(project), method]
            runners[variant] = lambda a=argv: run_process(a, cwd=workdir, env=env)  # type: ignore[misc]

    def reset(variant: str) -> None:
        database = databases[variant]
        database.with_name(database.name + ".wal").unlink(missing_ok=True)
        fresh_copy(pristine, database)

    return runners, reset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="measured runs per variant (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured runs per variant first (default 1)")
    parser.add_argument("--workdir", type=Path, help="keep the work files here (default: a temp folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kickoff-bench-") as temp:
        workdir = args.workdir or Path(temp)
        workdir.mkdir(parents=True, exist_ok=True)
        pristine, pipelines = workdir / "demo-pristine.duckdb", workdir / "dlt"
        run_process([str(PYTHON), "-c", LOAD_SCRIPT, str(pristine), str(pipelines)], cwd=workdir)
        runners, reset = variant_runners(workdir, pristine, pipelines)
        print(f"demo: {len(VARIANTS)} variants x ({args.warmup} warm-up + {args.repeat} runs)")
        series = measure_round_robin(runners, repeat=args.repeat, warmup=args.warmup, before_each=reset,
                                     package="demo")
    print_table("a new process per task: dbt-kickoff (dlt pipeline destination) vs plain dbt build", series,
                [PLAIN_BUILD])
    path = write_results("new-process", {
        "repeat": args.repeat, "warmup": args.warmup, "threads": THREADS,
        "series": [s.to_dict() for s in series], "ratios": ratios(series, [PLAIN_BUILD]),
        "targets": {f"{KICKOFF_BUILD} / {PLAIN_BUILD}": 1.1, f"{KICKOFF_RUN_ALL} / {PLAIN_BUILD}": 1.1},
    })
    print(f"results written to {path}")


if __name__ == "__main__":
    main()
