"""dbt v2 (the Fusion engine) through dbt-kickoff versus plain v2 ``dbt build``, and versus v1 through dbt-kickoff.

Variants, each a whole process, on the same PostgreSQL server (started here, on loopback) and package:

- ``v2 dbt build``           one plain ``dbt build`` process of the v2 engine (its venv's binary)
- ``kickoff v2 build()``     a python process: ``dbt_kickoff.package(url, ..., venv=<v2 venv>).build()``
- ``kickoff v1 build()``     a python process: ``dbt_kickoff.package(url, ...).build()`` (dbt-core 1.11 +
                             dbt-postgres of this environment, warm worker)
- ``v1 dbt build``           one plain dbt-core ``dbt build`` process, for reference

Packages: ``small`` (tests/fusion/package: a seed, 2 models, 4 tests) and ``generated`` (bench/generate_package.py,
``--models`` models). Every variant has its own copy of the package and its own schema; one unmeasured warm-up
run per variant comes first. v2 needs its PostgreSQL driver: it is provisioned from the package index into a
private cache home, the way the tests do (tests/fusion/driver.py; dbt-kickoff itself never does that). The
password reaches plain dbt and dbt-kickoff through environment variables, never argv.

    .venv/bin/python bench/bench_fusion.py [--repeat 5] [--packages small,generated] [--models 100]

Target (issue 13): ``kickoff v2 build()`` <= 1.1 x ``v2 dbt build``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fusion.driver import FUSION_VERSION, provision_postgres_driver
from tests.postgres_server import PostgresServer, start_postgres

from common import (
    DBT,
    PYTHON,
    Sample,
    Series,
    dbt_env,
    measure_round_robin,
    print_table,
    ratios,
    run_process,
    write_results,
)
from dbt_kickoff.environments.venv import Venv, get_venv
from generate_package import generate_package

V2_PLAIN = "v2 dbt build"
V2_KICKOFF = "kickoff v2 build()"
V1_KICKOFF = "kickoff v1 build()"
V1_PLAIN = "v1 dbt build"
VARIANTS = (V2_PLAIN, V2_KICKOFF, V1_KICKOFF, V1_PLAIN)
THREADS = 4
SMALL_PACKAGE = Path(__file__).resolve().parent.parent / "tests" / "fusion" / "package"

KICKOFF_SCRIPT = """
import os, sys
import dbt_kickoff
from dbt_kickoff.environments.venv import Venv
package_dir, dataset, venv_path = sys.argv[1:]
venv = Venv.restore(venv_path) if venv_path else None
with dbt_kickoff.package(os.environ["BENCH_PG_URL"], package_dir, venv=venv, dataset_name=dataset,
                         threads=THREADS) as runner:
    runner.build()
""".replace("THREADS", str(THREADS))


def plain_profiles(folder: Path, server: PostgresServer, *, profile: str, schema: str) -> Path:
    """A profiles.yml for plain dbt (v1 and v2 alike), its password read from an environment variable."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "profiles.yml").write_text(
        f"{profile}:\n  target: pg\n  outputs:\n    pg:\n      type: postgres\n      host: {server.host}\n"
        f"      port: {server.port}\n      user: {server.user}\n"
        "      password: \"{{ env_var('DBT_ENV_SECRET_BENCH_PG') }}\"\n"
        f"      dbname: {server.dbname}\n      schema: {schema}\n      threads: {THREADS}\n",
        encoding="utf-8",
    )
    return folder


def package_source(name: str, workdir: Path, models: int) -> tuple[Path, str]:
    """The package folder to copy for each variant, and its profile name."""
    if name == "small":
        return SMALL_PACKAGE, "fusion_small"
    if name == "generated":
        folder = generate_package(workdir / "generated-source", models)
        with (folder / "dbt_project.yml").open("a", encoding="utf-8") as project:
            # dbt v2 2.0.0-preview.196 types float seed columns "double" on PostgreSQL, which it rejects
            project.write("seeds:\n  bench_generated:\n    +column_types:\n      amount: numeric\n")
        return folder, "bench_generated"
    raise SystemExit(f"unknown package {name!r}: use small, generated")


def variant_runners(
    package: str, source: Path, profile: str, workdir: Path, server: PostgresServer, v2: Venv, env: dict[str, str]
) -> dict[str, Callable[[], Sample]]:
    runners: dict[str, Callable[[], Sample]] = {}
    for variant in VARIANTS:
        slug = variant.replace(" ", "_").replace("(", "").replace(")", "")
        folder = Path(shutil.copytree(source, workdir / package / slug))
        schema = f"bench_{package}_{slug}".lower()
        if variant in (V2_PLAIN, V1_PLAIN):
            profiles = plain_profiles(workdir / package / f"{slug}-profiles", server, profile=profile, schema=schema)
            dbt = v2.dbt_executable if variant == V2_PLAIN else DBT
            argv = [str(dbt), "build", "--project-dir", str(folder), "--profiles-dir", str(profiles)]
            runners[variant] = lambda argv=argv, folder=folder: run_process(argv, cwd=folder, env=env)
        else:
            venv_arg = str(v2.path) if variant == V2_KICKOFF else ""
            argv = [str(PYTHON), "-c", KICKOFF_SCRIPT, str(folder), schema, venv_arg]
            runners[variant] = lambda argv=argv, folder=folder: run_process(argv, cwd=folder, env=env)
    return runners


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="measured runs per variant (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured runs per variant first (default 1)")
    parser.add_argument("--packages", default="small,generated", help="comma list of: small, generated")
    parser.add_argument("--models", type=int, default=100, help="models of the generated package (default 100)")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma list of variants to run")
    args = parser.parse_args()
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]

    v2 = get_venv("postgres", dbt_version=FUSION_VERSION)
    server, stop = start_postgres()
    workdir = Path(tempfile.mkdtemp(prefix="bench-fusion-"))
    try:
        cache_home = workdir / "cache-home"
        provision_postgres_driver(cache_home)
        env = dbt_env()
        env.update({
            "XDG_CACHE_HOME": str(cache_home),
            "DBT_ALLOW_EXPERIMENTAL_ADAPTERS": "true",
            "DBT_ENV_SECRET_BENCH_PG": server.password,
            "BENCH_PG_URL": server.url(),
        })
        series: list[Series] = []
        for package in [p.strip() for p in args.packages.split(",") if p.strip()]:
            source, profile = package_source(package, workdir, args.models)
            runners = variant_runners(package, source, profile, workdir, server, v2, env)
            chosen = {name: runners[name] for name in variants}
            series += measure_round_robin(chosen, repeat=args.repeat, warmup=args.warmup, package=package)
        print_table(f"dbt v2 ({v2.engine_version}) vs v1 on PostgreSQL, whole processes", series,
                    [V2_PLAIN, V1_KICKOFF])
        path = write_results("fusion", {
            "v2": v2.engine_version,
            "repeat": args.repeat,
            "series": [s.to_dict() for s in series],
            "ratios": ratios(series, [V2_PLAIN, V1_KICKOFF]),
        })
        print(f"results: {path}")
    finally:
        stop()  # type: ignore[operator]
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
