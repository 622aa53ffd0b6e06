"""dbt v2 (the Fusion engine) through dbt-kickoff versus plain v2 ``dbt build``, and versus v1 through dbt-kickoff.

Variants, each a whole process, on the same warehouse and package: a PostgreSQL server (started here, on
loopback), or DuckDB (a database file per variant):

- ``v2 dbt build``           one plain ``dbt build`` process of the v2 engine (its venv's binary)
- ``kickoff v2 build()``     a python process: ``dbt_kickoff.package(url, ..., venv=<v2 venv>).build()``
- ``kickoff v1 build()``     a python process: ``dbt_kickoff.package(url, ...).build()`` (dbt-core 1.11 +
                             dbt-postgres of this environment, warm worker)
- ``v1 dbt build``           one plain dbt-core ``dbt build`` process, for reference

Packages: ``small`` (tests/fusion/package: a seed, 2 models, 4 tests), ``generated`` (bench/generate_package.py,
``--models`` models; PostgreSQL) and ``demo`` (the bundled demo package, jaffle-shop-like: 2 seeds, 12 models,
64 tests, on the demo's first load; DuckDB). Every variant has its own copy of the package and its own schema
(PostgreSQL) or database file (DuckDB); one unmeasured warm-up run per variant comes first. v2 needs its
database driver, provisioned the way the tests do (tests/fusion/driver.py; dbt-kickoff itself never does that):
PostgreSQL's from the package index into a private cache home, DuckDB's ``libduckdb.so`` from its npm package
into a folder every variant gets as ``ADBC_DRIVER_PATH``. The PostgreSQL password reaches plain dbt and
dbt-kickoff through environment variables, never argv. Ratios are printed against plain v2 and plain v1.

    .venv/bin/python bench/bench_fusion.py [--destination postgres|duckdb] [--repeat 5] [--packages small,demo]

Targets: ``kickoff v2 build()`` <= 1.1 x ``v2 dbt build`` (issue 13), <= 1.2 x on jaffle_shop (issue 24).
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fusion.driver import FUSION_VERSION, provision_duckdb_driver, provision_postgres_driver
from tests.postgres_server import start_postgres

from common import (
    DBT,
    PYTHON,
    Sample,
    Series,
    dbt_env,
    duckdb_profiles,
    measure_round_robin,
    print_table,
    ratios,
    run_process,
    write_results,
)
from dbt_kickoff.demo import DBT_PACKAGE_DIR
from dbt_kickoff.environments.venv import Venv, get_venv
from generate_package import generate_package

V2_PLAIN = "v2 dbt build"
V2_KICKOFF = "kickoff v2 build()"
V1_KICKOFF = "kickoff v1 build()"
V1_PLAIN = "v1 dbt build"
VARIANTS = (V2_PLAIN, V2_KICKOFF, V1_KICKOFF, V1_PLAIN)
BASELINES = (V2_PLAIN, V1_PLAIN, V1_KICKOFF)
THREADS = 4
SMALL_PACKAGE = Path(__file__).resolve().parent.parent / "tests" / "fusion" / "package"
DEMO_SOURCE_DATASET = "raw_shop"

KICKOFF_SCRIPT = """
import os, sys
import dbt_kickoff
from dbt_kickoff.environments.venv import Venv
package_dir, dataset, venv_path = sys.argv[1:]
venv = Venv.restore(venv_path) if venv_path else None
with dbt_kickoff.package(os.environ["BENCH_DESTINATION"], package_dir, venv=venv, dataset_name=dataset,
                         source_dataset_name="SOURCE", threads=THREADS) as runner:
    runner.build()
""".replace("THREADS", str(THREADS)).replace("SOURCE", DEMO_SOURCE_DATASET)


@dataclass
class Warehouse:
    """Where the variants build: the environment all of them get, and per variant a plain profiles.yml and
    the destination dbt-kickoff is given (``BENCH_DESTINATION``, an environment variable: it may hold a
    password)."""

    name: str
    env: dict[str, str]
    plain_profiles: Callable[[Path, str, str], Path]
    """(folder, profile, variant slug) -> the profiles folder of plain dbt."""
    destination: Callable[[str], str]
    """variant slug -> the destination URL for dbt-kickoff."""
    prepare: Callable[[str, str], None] = lambda package, slug: None
    """(package, variant slug) -> set up the variant's database (before the first run)."""
    packages: tuple[str, ...] = field(default=())


@contextlib.contextmanager
def postgres_warehouse(workdir: Path) -> Iterator[Warehouse]:
    server, stop = start_postgres()
    cache_home = workdir / "cache-home"
    provision_postgres_driver(cache_home)

    def profiles(folder: Path, profile: str, slug: str) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "profiles.yml").write_text(
            f"{profile}:\n  target: pg\n  outputs:\n    pg:\n      type: postgres\n      host: {server.host}\n"
            f"      port: {server.port}\n      user: {server.user}\n"
            "      password: \"{{ env_var('DBT_ENV_SECRET_BENCH_PG') }}\"\n"
            f"      dbname: {server.dbname}\n      schema: {slug}\n      threads: {THREADS}\n",
            encoding="utf-8",
        )
        return folder

    env = {"XDG_CACHE_HOME": str(cache_home), "DBT_ALLOW_EXPERIMENTAL_ADAPTERS": "true",
           "DBT_ENV_SECRET_BENCH_PG": server.password, "BENCH_DESTINATION": server.url()}
    try:
        yield Warehouse("PostgreSQL", env, profiles, lambda slug: server.url(), packages=("small", "generated"))
    finally:
        stop()  # type: ignore[operator]


@contextlib.contextmanager
def duckdb_warehouse(workdir: Path) -> Iterator[Warehouse]:
    drivers = workdir / "drivers"
    provision_duckdb_driver(drivers)
    loaded = workdir / "demo-load.duckdb"  # the demo's first load, in a file format v2's driver reads
    _load_demo_data(loaded, workdir / "dlt")

    def database(slug: str) -> Path:
        return workdir / "databases" / f"w_{slug}.duckdb"  # not the schema's name: DuckDB finds it ambiguous

    def prepare(package: str, slug: str) -> None:
        database(slug).parent.mkdir(parents=True, exist_ok=True)
        database(slug).unlink(missing_ok=True)
        if package == "demo":
            shutil.copyfile(loaded, database(slug))

    def profiles(folder: Path, profile: str, slug: str) -> Path:
        return duckdb_profiles(folder, profile=profile, path=database(slug), schema="bench", threads=THREADS)

    yield Warehouse("DuckDB", {"ADBC_DRIVER_PATH": str(drivers)}, profiles,
                    lambda slug: f"duckdb:///{database(slug)}", prepare, packages=("small", "demo"))


LOAD_SCRIPT = """
import sys
from pathlib import Path
import duckdb
from dbt_kickoff.demo.data import load_sample_data
from dbt_kickoff.demo.run import STORAGE_FORMAT
database, pipelines, dataset = sys.argv[1:]
duckdb.connect(database, config={"storage_compatibility_version": STORAGE_FORMAT}).close()
load_sample_data(Path(database), dataset, pipelines_dir=Path(pipelines))
"""


def _load_demo_data(database: Path, pipelines: Path) -> None:
    """The demo's first load, in its own process (a child's peak RSS counts what its parent held when forked)."""
    run_process([str(PYTHON), "-c", LOAD_SCRIPT, str(database), str(pipelines), DEMO_SOURCE_DATASET],
                cwd=database.parent)


def package_source(name: str, workdir: Path, models: int) -> tuple[Path, str]:
    """The package folder to copy for each variant, and its profile name."""
    if name == "small":
        return SMALL_PACKAGE, "fusion_small"
    if name == "demo":
        return DBT_PACKAGE_DIR, "dbt_kickoff_demo"
    if name == "generated":
        folder = generate_package(workdir / "generated-source", models)
        with (folder / "dbt_project.yml").open("a", encoding="utf-8") as project:
            # dbt v2 2.0.0-preview.196 types float seed columns "double" on PostgreSQL, which it rejects
            project.write("seeds:\n  bench_generated:\n    +column_types:\n      amount: numeric\n")
        return folder, "bench_generated"
    raise SystemExit(f"unknown package {name!r}: use small, demo, generated")


def variant_runners(
    package: str, source: Path, profile: str, workdir: Path, warehouse: Warehouse, v2: Venv, env: dict[str, str]
) -> dict[str, Callable[[], Sample]]:
    runners: dict[str, Callable[[], Sample]] = {}
    for variant in VARIANTS:
        slug = f"bench_{package}_{variant}".replace(" ", "_").replace("(", "").replace(")", "").lower()
        folder = Path(shutil.copytree(source, workdir / package / slug))
        warehouse.prepare(package, slug)
        variant_env = {**env, "BENCH_DESTINATION": warehouse.destination(slug)}
        if variant in (V2_PLAIN, V1_PLAIN):
            profiles = warehouse.plain_profiles(workdir / package / f"{slug}-profiles", profile, slug)
            dbt = v2.dbt_executable if variant == V2_PLAIN else DBT
            argv = [str(dbt), "build", "--project-dir", str(folder), "--profiles-dir", str(profiles)]
        else:
            venv_arg = str(v2.path) if variant == V2_KICKOFF else ""
            argv = [str(PYTHON), "-c", KICKOFF_SCRIPT, str(folder), slug, venv_arg]
        runners[variant] = lambda argv=argv, folder=folder, e=variant_env: run_process(argv, cwd=folder, env=e)
    return runners


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="measured runs per variant (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured runs per variant first (default 1)")
    parser.add_argument("--destination", choices=("postgres", "duckdb"), default="postgres")
    parser.add_argument("--packages", help="comma list of: small, generated (PostgreSQL), demo (DuckDB); default: "
                        "small,generated on PostgreSQL, small,demo on DuckDB")
    parser.add_argument("--models", type=int, default=100, help="models of the generated package (default 100)")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma list of variants to run")
    args = parser.parse_args()
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]

    v2 = get_venv(args.destination, dbt_version=FUSION_VERSION)
    workdir = Path(tempfile.mkdtemp(prefix="bench-fusion-"))
    opened = postgres_warehouse if args.destination == "postgres" else duckdb_warehouse
    try:
        with opened(workdir) as warehouse:
            env = {**dbt_env(), **warehouse.env}
            series: list[Series] = []
            packages = args.packages.split(",") if args.packages else warehouse.packages
            for package in [p.strip() for p in packages if p.strip()]:
                source, profile = package_source(package, workdir, args.models)
                runners = variant_runners(package, source, profile, workdir, warehouse, v2, env)
                chosen = {name: runners[name] for name in variants}
                series += measure_round_robin(chosen, repeat=args.repeat, warmup=args.warmup, package=package)
            baselines = [b for b in BASELINES if b in variants]
            print_table(f"dbt v2 ({v2.engine_version}) vs v1 on {warehouse.name}, whole processes", series,
                        baselines)
            path = write_results(f"fusion-{args.destination}", {
                "v2": v2.engine_version,
                "destination": args.destination,
                "repeat": args.repeat,
                "series": [s.to_dict() for s in series],
                "ratios": ratios(series, baselines),
            })
            print(f"results: {path}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
