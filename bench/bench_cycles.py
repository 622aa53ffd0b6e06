"""Warm cycles: N consecutive ``build()`` calls through one runner versus N plain ``dbt build`` processes.

On the demo package (after its dlt load) and on a generated package (500 models by default), DuckDB. The
runner side is one python process holding one runner (one warm dbt worker); cycle 1 is timed from before
``import dbt_kickoff`` (worker start, dbt import, full parse), later cycles reuse the worker and its parsed
manifest. Also measured: a "nothing loaded" cycle (``transform_loaded([])``, which must not start dbt), and
the worker's peak RSS (VmHWM, Linux) at cycles 10 and 100 (``--memory-cycles``, demo package only).
Results go to bench/results/cycles-*.json.

    .venv/bin/python bench/bench_cycles.py [--cycles 20] [--plain-runs 20] [--packages demo,generated]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_core import THREADS, BenchPackage, bench_package
from common import DBT, PYTHON, dbt_env, duckdb_profiles, fresh_copy, run_process, write_results

DRIVER = r"""
import time
started = time.perf_counter()
import json, os, statistics, sys
import dbt_kickoff

path, package_dir, dataset, variables, cycles, memory_at = sys.argv[1:]
variables, memory_at = json.loads(variables), set(json.loads(memory_at))


def worker_memory():
    # VmHWM (peak) and VmRSS of this process's children: the dbt worker
    peak = rss = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                parent = int(f.read().rsplit(")", 1)[1].split()[1])
            if parent != os.getpid():
                continue
            with open(f"/proc/{pid}/status") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
        except (OSError, ValueError):
            continue
        peak = max(peak, int(fields.get("VmHWM", "0 kB").split()[0]) // 1024)
        rss = max(rss, int(fields.get("VmRSS", "0 kB").split()[0]) // 1024)
    return peak, rss


runner = dbt_kickoff.package({"type": "duckdb", "path": path}, package_dir, dataset_name=dataset,
                             threads=THREADS)
with runner:
    for cycle in range(1, int(cycles) + 1):
        begin = started if cycle == 1 else time.perf_counter()
        results = runner.build(additional_vars=variables)
        seconds = time.perf_counter() - begin
        line = {"cycle": cycle, "seconds": seconds, "nodes": len(results),
                "parsed": runner.last_report.steps[-1].parsed, "db_mb": os.path.getsize(path) // 2**20}
        if cycle in memory_at:
            line["worker_peak_rss_mb"], line["worker_rss_mb"] = worker_memory()
        print(json.dumps(line), flush=True)
    if hasattr(runner, "transform_loaded"):
        times = []
        for _ in range(5):
            begin = time.perf_counter()
            runner.transform_loaded([])
            times.append(time.perf_counter() - begin)
        print(json.dumps({"nothing_loaded_seconds": statistics.median(times)}), flush=True)
""".replace("THREADS", str(THREADS))


def run_runner(package: BenchPackage, workdir: Path, cycles: int, memory_at: list[int]) -> list[dict[str, Any]]:
    project = fresh_copy(package.project_dir, workdir / f"{package.name}-cycles-runner")
    database = workdir / f"{package.name}-cycles-runner.duckdb"
    _reset(package, database)
    argv = [
        str(PYTHON),
        "-c",
        DRIVER,
        str(database),
        str(project),
        package.dataset,
        json.dumps(package.variables),
        str(cycles),
        json.dumps(memory_at),
    ]
    lines: list[dict[str, Any]] = []
    with subprocess.Popen(argv, cwd=workdir, env=dbt_env(), stdout=subprocess.PIPE, text=True) as process:
        assert process.stdout is not None
        for raw in process.stdout:
            line = json.loads(raw)
            lines.append(line)
            print(f"  {package.name:<8} runner {json.dumps(line)}", flush=True)
    if process.returncode != 0:
        raise RuntimeError(f"the runner driver failed with exit status {process.returncode}")
    return lines


def run_plain(package: BenchPackage, workdir: Path, runs: int) -> list[float]:
    project = fresh_copy(package.project_dir, workdir / f"{package.name}-cycles-plain")
    database = workdir / f"{package.name}-cycles-plain.duckdb"
    _reset(package, database)
    profiles = duckdb_profiles(
        workdir / f"{package.name}-cycles-plain-profiles",
        profile=package.profile,
        path=database,
        schema=package.dataset,
        threads=THREADS,
    )
    argv = [str(DBT), "build", "--profiles-dir", str(profiles), "--vars", json.dumps(package.variables)]
    times = []
    for run in range(1, runs + 1):
        sample = run_process(argv, cwd=project, env=dbt_env())
        times.append(sample.seconds)
        size = database.stat().st_size // 2**20
        print(
            f"  {package.name:<8} plain dbt build {run}/{runs}: {sample.seconds:.2f} s, database {size} MB", flush=True
        )
    return times


def _reset(package: BenchPackage, database: Path) -> None:
    database.unlink(missing_ok=True)
    if package.pristine_db is not None:
        fresh_copy(package.pristine_db, database)


def summarize(name: str, runner_lines: list[dict[str, Any]], plain: list[float], cycles: int) -> dict[str, Any]:
    cycle_times = [line["seconds"] for line in runner_lines if "cycle" in line]
    warm = statistics.median(cycle_times[1:cycles]) if len(cycle_times) > 1 else None
    plain_median = statistics.median(plain) if plain else None
    memory = {line["cycle"]: line.get("worker_peak_rss_mb") for line in runner_lines if "worker_peak_rss_mb" in line}
    nothing = next((line["nothing_loaded_seconds"] for line in runner_lines if "nothing_loaded_seconds" in line), None)
    return {
        "package": name,
        "cycle_1_s": round(cycle_times[0], 3),
        "median_cycles_2_on_s": round(warm, 3) if warm is not None else None,
        "plain_dbt_build_median_s": round(plain_median, 3) if plain_median else None,
        "warm_ratio": round(warm / plain_median, 3) if warm and plain_median else None,
        "cycle_1_ratio": round(cycle_times[0] / plain_median, 3) if plain_median else None,
        "nothing_loaded_s": round(nothing, 4) if nothing is not None else None,
        "worker_peak_rss_mb_at_cycle": memory,
        "reparsed_cycles": [line["cycle"] for line in runner_lines if line.get("parsed") and line.get("cycle", 0) > 1],
        "runner_cycles_s": [round(t, 3) for t in cycle_times],
        "plain_runs_s": [round(t, 3) for t in plain],
    }


def print_summary(rows: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="warm cycles: one runner vs plain dbt build processes")
    columns = [
        "package",
        "cycle 1 s",
        "cycles 2+ median s",
        "plain dbt build median s",
        "cycles 2+ / plain",
        "cycle 1 / plain",
        "nothing loaded s",
        "worker peak RSS MB (cycle: MB)",
    ]
    for column in columns:
        table.add_column(column, justify="left" if column == "package" else "right")

    def fmt(value: Any, digits: int = 2) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    for row in rows:
        memory = ", ".join(f"{c}: {mb}" for c, mb in row["worker_peak_rss_mb_at_cycle"].items()) or "-"
        table.add_row(
            row["package"],
            fmt(row["cycle_1_s"]),
            fmt(row["median_cycles_2_on_s"]),
            fmt(row["plain_dbt_build_median_s"]),
            fmt(row["warm_ratio"]),
            fmt(row["cycle_1_ratio"]),
            fmt(row["nothing_loaded_s"], 4),
            memory,
        )
    Console(width=180).print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cycles", type=int, default=20, help="build cycles through one runner (default 20)")
    parser.add_argument("--plain-runs", type=int, default=20, help="plain dbt build processes (default 20)")
    parser.add_argument("--packages", default="demo,generated", help="comma list of: demo, generated")
    parser.add_argument("--models", type=int, default=500, help="models in the generated package (default 500)")
    parser.add_argument(
        "--memory-cycles",
        type=int,
        default=100,
        help="demo package: run this many cycles and report the worker's peak RSS at cycle 10 "
        "and at the last one (default 100; 0 to skip)",
    )
    parser.add_argument("--workdir", type=Path, help="keep the work files here (default: a temp folder)")
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory(prefix="kickoff-cycles-") as temp:
        workdir = args.workdir or Path(temp)
        workdir.mkdir(parents=True, exist_ok=True)
        for name in [p.strip() for p in args.packages.split(",") if p.strip()]:
            try:
                package = bench_package(name, workdir, args.models)
            except ValueError as exc:
                parser.error(str(exc))
            cycles = max(args.cycles, args.memory_cycles) if name == "demo" else args.cycles
            memory_at = sorted({c for c in (10, args.cycles, cycles) if c <= cycles})
            runner_lines = run_runner(package, workdir, cycles, memory_at)
            plain = run_plain(package, workdir, args.plain_runs)
            rows.append(summarize(package.name, runner_lines, plain, args.cycles))
    print_summary(rows)
    path = write_results(
        "cycles",
        {
            "cycles": args.cycles,
            "plain_runs": args.plain_runs,
            "threads": THREADS,
            "packages": rows,
            "targets": {"warm_ratio": 0.35, "nothing_loaded_s": 0.1},
        },
    )
    print(f"results written to {path}")


if __name__ == "__main__":
    main()
