"""Airflow, per-node visibility: DbtKickoffTaskGroup beside astronomer-cosmos (WATCHER and LOCAL) on the same
generated package, under a running Airflow 3 (api-server, scheduler, triggerer, dag-processor; LocalExecutor,
SQLite metadata), on DuckDB and on PostgreSQL.

    .venv/bin/python bench/bench_airflow.py [--models 200] [--destinations duckdb,postgres]
        [--variants kickoff,one_task,watcher,local] [--parse-models 200,1000] [--parallelism 8]

Variants (each a DAG over its own copy of the package and its own database/schema, read from the same kind of
``profiles.yml``, 4 dbt threads, tests after each node):

- ``kickoff``: ``DbtKickoffDag`` — a producer task builds with one dbt process; one task per node waits and ends in
  the triggerer;
- ``one_task``: ``DbtKickoffOperator(command="build")`` — the same build as one task, no per-node tasks: the
  baseline that "per-node visibility" is measured against;
- ``watcher``: cosmos ``DbtDag`` with ``ExecutionMode.WATCHER`` (a producer ``dbt build`` and one deferrable
  sensor per node), rendered from the manifest (``LoadMode.DBT_MANIFEST``);
- ``local``: cosmos ``ExecutionMode.LOCAL`` (a dbt command per node task). On DuckDB one task at a time
  (``max_active_tasks=1``: DuckDB lets one process write a database file).

Measured: DAG parse time (``airflow dags report``, median of 3, at each ``--parse-models``), the DAG run's wall time
(Airflow's start to end), and the CPU seconds and peak resident memory (the sum over every process) of all Airflow
processes and what they start (tasks, dbt) while the run runs, sampled every 0.25 s. "Visibility" is a variant's
CPU and memory above ``one_task``'s. Cosmos runs in a venv of its own with the same Airflow release.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import write_results
from bench.generate_package import PROJECT_NAME, generate_package
from tests.integrations.airflow.live import LiveAirflow, running
from tests.integrations.venvs import orchestrator_venv

AIRFLOW = "apache-airflow==3.3.2"
DBT = ("dbt-core~=1.11.0", "dbt-duckdb~=1.11.0", "dbt-postgres~=1.11.0")
COSMOS = "astronomer-cosmos==1.15.*"
THREADS = 4
DAG_ID = "bench"

KICKOFF_DAG = """
import os
from datetime import datetime
from dbt_kickoff.integrations.airflow import DbtKickoffDag, DbtKickoffOperator
from airflow.sdk import DAG

options = {"profiles_dir": os.environ["BENCH_PROFILES_DIR"], "threads": %(threads)d}
if os.environ.get("BENCH_VARIANT") == "one_task":
    with DAG("%(dag_id)s", schedule=None, start_date=datetime(2024, 3, 1), catchup=False) as dag:
        DbtKickoffOperator(task_id="build", package_location=os.environ["BENCH_PACKAGE"], command="build",
                           package_options=options)
else:
    dag = DbtKickoffDag(dag_id="%(dag_id)s", package_location=os.environ["BENCH_PACKAGE"], schedule=None,
                        start_date=datetime(2024, 3, 1), catchup=False, **options)
"""
COSMOS_DAG = """
# an Airflow DAG made by cosmos (Airflow's safe mode parses only files that say "airflow" and "dag")
import os
from datetime import datetime
from cosmos import DbtDag, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import ExecutionMode, LoadMode, TestBehavior, TestIndirectSelection

mode = ExecutionMode.WATCHER if os.environ.get("BENCH_VARIANT") == "watcher" else ExecutionMode.LOCAL
extra = {"max_active_tasks": 1} if os.environ.get("BENCH_SERIAL") else {}
dag = DbtDag(
    dag_id="%(dag_id)s",
    project_config=ProjectConfig(os.environ["BENCH_PACKAGE"], manifest_path=os.environ["BENCH_MANIFEST"]),
    profile_config=ProfileConfig(profile_name="%(profile)s", target_name="bench",
                                 profiles_yml_filepath=os.environ["BENCH_PROFILES_DIR"] + "/profiles.yml"),
    # LOCAL: eager (cosmos's default) runs a relationships test with each parent's test task, before the other
    # parent exists, and the run fails; cautious leaves tests of several parents out (they never run). WATCHER's
    # producer runs one dbt build: the default.
    execution_config=ExecutionConfig(execution_mode=mode, test_indirect_selection=(
        TestIndirectSelection.CAUTIOUS if mode == ExecutionMode.LOCAL else TestIndirectSelection.EAGER)),
    render_config=RenderConfig(load_method=LoadMode.DBT_MANIFEST, test_behavior=TestBehavior.AFTER_EACH),
    schedule=None, start_date=datetime(2024, 3, 1), catchup=False, **extra,
)
"""


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# -- where dbt writes -----------------------------------------------------------------------------------------------
def profiles(folder: Path, destination: str, slug: str, workdir: Path, postgres: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if destination == "duckdb":
        output = f"type: duckdb\n      path: {workdir / 'databases' / f'{slug}.duckdb'}\n      schema: main"
        (workdir / "databases").mkdir(exist_ok=True)
    else:
        output = (f"type: postgres\n      host: {postgres.host}\n      port: {postgres.port}\n"
                  f"      user: {postgres.user}\n      password: {postgres.password!r}\n"
                  f"      dbname: {postgres.dbname}\n      schema: {slug}")
    (folder / "profiles.yml").write_text(
        f"{PROJECT_NAME}:\n  target: bench\n  outputs:\n    bench:\n      {output}\n      threads: {THREADS}\n",
        encoding="utf-8")
    return folder


@contextlib.contextmanager
def postgres_server() -> Iterator[Any]:
    from tests.postgres_server import start_postgres

    server, stop = start_postgres()
    try:
        yield server
    finally:
        stop()  # type: ignore[operator]


def parsed_package(source: Path, target: Path, profiles_dir: Path) -> Path:
    """A copy of ``source`` with the manifest ``dbt parse`` leaves in ``target/`` (what both tools render from)."""
    shutil.copytree(source, target)
    dbt = Path(sys.executable).parent / "dbt"
    done = subprocess.run([str(dbt), "parse", "--profiles-dir", str(profiles_dir), "--project-dir", str(target),
                           "--quiet"], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"dbt parse failed: {done.stdout[-3000:]}{done.stderr[-3000:]}")
    return target


# -- Airflow ------------------------------------------------------------------------------------------------------
def venvs() -> dict[str, Path]:
    log("venvs (built once, then reused)")
    kickoff = orchestrator_venv("airflow-bench", [AIRFLOW, *DBT], ("airflow",))
    cosmos = orchestrator_venv("cosmos-bench", [AIRFLOW, COSMOS, *DBT])
    return {"kickoff": kickoff, "one_task": kickoff, "watcher": cosmos, "local": cosmos}


def migrated(venv: Path, workdir: Path) -> Path:
    """A migrated SQLite metadata database for ``venv``, made once per run of the bench."""
    template = workdir / f"template-{venv.name}"
    if not (template / "airflow.db").is_file():
        template.mkdir(parents=True, exist_ok=True)
        env = {"AIRFLOW_HOME": str(template), "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "PATH": "/usr/bin:/bin"}
        subprocess.run([str(venv / "bin" / "airflow"), "db", "migrate"], env=env, capture_output=True, check=True)
    return template / "airflow.db"


def dag_folder(workdir: Path, variant: str) -> Path:
    folder = workdir / f"dags-{variant}"
    folder.mkdir(exist_ok=True)
    text = (KICKOFF_DAG if variant in ("kickoff", "one_task") else COSMOS_DAG) % {
        "dag_id": DAG_ID, "threads": THREADS, "profile": PROJECT_NAME}
    (folder / "bench_dag.py").write_text(text, encoding="utf-8")
    return folder


def parse_seconds(venv: Path, workdir: Path, variant: str, env: dict[str, str], repeat: int = 3) -> tuple[float, int]:
    """Median of ``airflow dags report``'s parse duration of the variant's DAG file, and its task count."""
    home = Path(tempfile.mkdtemp(prefix="parse-", dir=workdir))
    shutil.copy(migrated(venv, workdir), home / "airflow.db")
    live = LiveAirflow(venv, home, dag_folder(workdir, variant), env)
    durations, tasks = [], 0
    for _ in range(repeat):
        report = json.loads(_after_json(live.cli("dags", "report", "--output", "json")))
        durations.append(_seconds(report[0]["duration"]))
        tasks = int(report[0]["task_num"])
    return statistics.median(durations), tasks


def _after_json(output: str) -> str:
    return output[output.index("[{"):]


def _seconds(duration: str) -> float:
    hours, minutes, seconds = duration.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def run_once(venv: Path, workdir: Path, variant: str, env: dict[str, str], parallelism: int) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix=f"run-{variant}-", dir=workdir))
    shutil.copy(migrated(venv, workdir), home / "airflow.db")
    live = LiveAirflow(venv, home, dag_folder(workdir, variant), env, parallelism=parallelism)
    with running(live):
        live.wait_dag(DAG_ID, timeout=1200)
        time.sleep(5)  # let the components settle after the first parse
        with live.watch() as watcher:
            run_id = live.trigger(DAG_ID)
            state = live.wait_run(DAG_ID, run_id, timeout=7200)
        usage = watcher.usage()
        start, end = live.run_times(DAG_ID, run_id)
        states = live.states(DAG_ID, run_id)
        queued = live.task_rows(DAG_ID, run_id, "queued_dttm")
    wall = _timestamp(end) - _timestamp(start)
    return {"state": state, "wall_s": round(wall, 1), "cpu_s": usage.cpu_seconds, "peak_rss_mb": usage.peak_rss_mb,
            "cpu_by_component": usage.by_component, "tasks": len(states),
            "tasks_not_success": sorted(t for t, (s, _) in states.items() if s != "success"),
            "tasks_run_by_a_worker": sum(1 for (when,) in queued.values() if when is not None)}


def _timestamp(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text.replace(" ", "T")).timestamp()


# -- the bench ----------------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--destinations", default="duckdb,postgres")
    parser.add_argument("--variants", default="kickoff,one_task,watcher,local")
    parser.add_argument("--parse-models", default="200,1000")
    parser.add_argument("--parallelism", type=int, default=8)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    variants = args.variants.split(",")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-airflow-"))
    workdir.mkdir(parents=True, exist_ok=True)
    pythons = venvs()
    results: dict[str, Any] = {"models": args.models, "parallelism": args.parallelism, "threads": THREADS,
                               "parse": {}, "runs": {}}
    sizes = sorted({args.models, *(int(n) for n in args.parse_models.split(",") if n)})
    sources = {n: generate_package(workdir / f"generated-{n}", models=n) for n in sizes}

    with contextlib.ExitStack() as stack:
        postgres = stack.enter_context(postgres_server()) if "postgres" in args.destinations else None
        for destination in args.destinations.split(","):
            for variant in variants:
                slug = f"{variant}_{destination}"
                profiles_dir = profiles(workdir / f"profiles-{slug}", destination, slug, workdir, postgres)
                package = parsed_package(sources[args.models], workdir / f"package-{slug}", profiles_dir)
                env = {"BENCH_VARIANT": variant, "BENCH_PACKAGE": str(package),
                       "BENCH_PROFILES_DIR": str(profiles_dir),
                       "BENCH_MANIFEST": str(package / "target" / "manifest.json")}
                if variant == "local" and destination == "duckdb":
                    env["BENCH_SERIAL"] = "1"
                if destination == args.destinations.split(",")[0]:
                    for size in (n for n in sizes if n in {int(x) for x in args.parse_models.split(",") if x}):
                        parse_package = package if size == args.models else parsed_package(
                            sources[size], workdir / f"package-{slug}-{size}", profiles_dir)
                        parse_env = {**env, "BENCH_PACKAGE": str(parse_package),
                                     "BENCH_MANIFEST": str(parse_package / "target" / "manifest.json")}
                        seconds, tasks = parse_seconds(pythons[variant], workdir, variant, parse_env)
                        results["parse"].setdefault(variant, {})[str(size)] = {"seconds": round(seconds, 3),
                                                                               "tasks": tasks}
                        log(f"parse {variant:<9} {size:>5} models: {seconds:.3f} s, {tasks} tasks")
                log(f"run {variant} on {destination} ...")
                outcome = run_once(pythons[variant], workdir, variant, env, args.parallelism)
                results["runs"].setdefault(destination, {})[variant] = outcome
                log(f"run {variant:<9} {destination:<8} {outcome['state']}: wall {outcome['wall_s']} s, "
                    f"cpu {outcome['cpu_s']} s, peak RSS {outcome['peak_rss_mb']} MB, "
                    f"{outcome['tasks']} tasks ({outcome['tasks_run_by_a_worker']} in a worker)")
                path = write_results("airflow", results)  # after every run: a long bench keeps what it measured
    print(table(results))
    print(f"results: {path}")


def table(results: dict[str, Any]) -> str:
    """The side-by-side table (markdown): per destination and variant, with visibility over ``one_task``."""
    lines = ["| destination | variant | wall (s) | CPU (s) | peak RSS (MB) | visibility CPU (s) | "
             "visibility RSS (MB) |", "|---|---|---:|---:|---:|---:|---:|"]
    for destination, runs in results["runs"].items():
        base = runs.get("one_task")
        for variant, run in runs.items():
            extra_cpu = f"{run['cpu_s'] - base['cpu_s']:.0f}" if base and variant != "one_task" else "—"
            extra_rss = f"{run['peak_rss_mb'] - base['peak_rss_mb']:.0f}" if base and variant != "one_task" else "—"
            lines.append(f"| {destination} | {variant} | {run['wall_s']:.0f} | {run['cpu_s']:.0f} | "
                         f"{run['peak_rss_mb']:.0f} | {extra_cpu} | {extra_rss} |")
    lines += ["", "| variant | parse (s) by models |", "|---|---|"]
    for variant, sizes in results["parse"].items():
        lines.append(f"| {variant} | " + ", ".join(f"{n}: {v['seconds']:.2f} s ({v['tasks']} tasks)"
                                                  for n, v in sizes.items()) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
