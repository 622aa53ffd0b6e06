"""Benchmark get_venv: cold creation (empty uv cache), creation with a warm uv cache, reuse, versus the stdlib
venv + pip (what dlt's runner does); and the first dbt run in a venv versus the current environment.

    .venv/bin/python bench/bench_venv.py [--repeat 3] [--pip-repeat 1] [--skip-pip] [--skip-run]

Every creation runs in a fresh process with its own venv cache folder (and, for "cold", its own empty
UV_CACHE_DIR), so no measurement helps the next. Targets: reuse < 0.3 s; cold dbt-core + dbt-duckdb < 15 s;
first run in a venv within 10% of the current environment.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHOP = REPO / "tests" / "projects" / "shop"

CREATE = """
import json, logging, sys, time
steps = {}
class Steps(logging.Handler):
    def emit(self, record):
        if record.msg == "%s: %.2f s":
            steps[record.args[0].split()[0]] = record.args[1]
logging.getLogger("dbt_kickoff.environments.installer").addHandler(Steps())
logging.getLogger("dbt_kickoff.environments.installer").setLevel(logging.INFO)
started = time.perf_counter()
from dbt_kickoff import get_venv
venv = get_venv(adapters=["duckdb"], venv_dir=sys.argv[1], installer=sys.argv[2])
print(json.dumps({"seconds": time.perf_counter() - started, "dbt": venv.dbt_version, "steps": steps}))
"""

REUSE = """
import json, sys, time
started = time.perf_counter()
from dbt_kickoff import get_venv
imported = time.perf_counter()
venv = get_venv(adapters=["duckdb"], venv_dir=sys.argv[1])
done = time.perf_counter()
times = []
for _ in range(20):
    t = time.perf_counter()
    get_venv(adapters=["duckdb"], venv_dir=sys.argv[1])
    times.append(time.perf_counter() - t)
print(json.dumps({"first_call": done - imported, "import": imported - started, "repeat_call": min(times)}))
"""

RUN = """
import json, sys, time
import dbt_kickoff
destination, project, venv_dir = sys.argv[1:4]
venv = dbt_kickoff.get_venv(adapters=["duckdb"], venv_dir=venv_dir) if venv_dir else None
started = time.perf_counter()
with dbt_kickoff.package(destination, project, venv=venv, dataset_name="analytics") as runner:
    first = runner.run_all(additional_vars={"source_dataset_name": "raw_data"})
    first_done = time.perf_counter()
    runner.run_all(additional_vars={"source_dataset_name": "raw_data"})
    second_done = time.perf_counter()
print(json.dumps({"first": first_done - started, "second": second_done - first_done, "nodes": len(first)}))
"""


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env.update(extra)
    return env


def _python(code: str, *args: str, env: dict[str, str] | None = None) -> tuple[dict[str, float], float]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env or _env(), check=False
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"benchmark step failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1]), wall


def _median(values: list[float]) -> float:
    return statistics.median(values)


def bench_create(work: Path, label: str, repeat: int, installer: str, cold: bool) -> float:
    seconds = []
    for i in range(repeat):
        root = work / f"{label}-{i}"
        extra = {}
        if cold:
            extra["UV_CACHE_DIR"] = str(work / f"uv-cache-{label}-{i}")
            extra["PIP_NO_CACHE_DIR"] = "1"
        result, _ = _python(CREATE, str(root), installer, env=_env(**extra))
        seconds.append(result["seconds"])
        steps = ", ".join(f"{name} {value:.2f} s" for name, value in result["steps"].items())
        print(f"  {label} #{i + 1}: {result['seconds']:.2f} s (dbt-core {result['dbt']}; {steps})", flush=True)
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(work / f"uv-cache-{label}-{i}", ignore_errors=True)
    return _median(seconds)


def bench_reuse(work: Path, repeat: int) -> tuple[float, float, float]:
    root = work / "reuse"
    _python(CREATE, str(root), "uv")
    first, repeat_calls, process = [], [], []
    for _ in range(repeat):
        result, wall = _python(REUSE, str(root))
        first.append(result["first_call"])
        repeat_calls.append(result["repeat_call"])
        process.append(wall)
    return _median(first), _median(repeat_calls), _median(process)


def bench_first_run(work: Path, repeat: int) -> tuple[float, float, float, float]:
    import duckdb

    root = work / "reuse"
    here, venv = [], []
    here_second, venv_second = [], []
    for i in range(repeat):
        for label, venv_dir, firsts, seconds in (
            ("here", "", here, here_second),
            ("venv", str(root), venv, venv_second),
        ):
            folder = work / f"run-{label}-{i}"
            project = folder / "shop"
            shutil.copytree(SHOP, project)
            database = folder / "w.duckdb"
            with duckdb.connect(str(database)) as con:
                con.execute("create schema raw_data")
                con.execute(
                    "create table raw_data.orders (id integer, country varchar, amount double, created_at date)"
                )
                con.executemany(
                    "insert into raw_data.orders values (?, ?, ?, ?)",
                    [
                        (n, ["DE", "FR", "US"][n % 3], 10.0 + n, f"2026-11-{(n % 28) + 1:02d}")
                        for n in range(1, 61)
                    ],
                )
            result, _ = _python(RUN, f"duckdb:///{database}", str(project), venv_dir)
            firsts.append(result["first"])
            seconds.append(result["second"])
            print(
                f"  run_all {label} #{i + 1}: first {result['first']:.2f} s, second {result['second']:.2f} s",
                flush=True,
            )
    return _median(here), _median(venv), _median(here_second), _median(venv_second)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pip-repeat", type=int, default=1)
    parser.add_argument("--skip-pip", action="store_true")
    parser.add_argument("--skip-run", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-venv-") as tmp:
        work = Path(tmp)
        print(
            f"python {sys.version.split()[0]}, {os.cpu_count()} cpus; dbt-core + dbt-duckdb, default dbt_version"
        )
        cold = bench_create(work, "uv cold (empty uv cache)", args.repeat, "uv", cold=True)
        warm = bench_create(work, "uv warm uv cache", args.repeat, "uv", cold=False)
        pip_cold = pip_warm = None
        if not args.skip_pip:
            pip_cold = bench_create(work, "venv+pip (no pip cache)", args.pip_repeat, "pip", cold=True)
            pip_warm = bench_create(work, "venv+pip (warm pip cache)", args.pip_repeat, "pip", cold=False)
        first_call, repeat_call, process = bench_reuse(work, args.repeat)
        runs = None if args.skip_run else bench_first_run(work, args.repeat)

    print("\nmedians")
    print(f"  create, uv, empty uv cache      {cold:8.2f} s   (target < 15 s)")
    print(f"  create, uv, warm uv cache       {warm:8.2f} s")
    if pip_cold is not None and pip_warm is not None:
        print(f"  create, venv+pip, no pip cache  {pip_cold:8.2f} s   pip/uv cold = {pip_cold / cold:.1f}x")
        print(f"  create, venv+pip, warm cache    {pip_warm:8.2f} s   pip/uv warm = {pip_warm / warm:.1f}x")
    print(f"  reuse, get_venv call            {first_call * 1000:8.2f} ms  (target < 300 ms)")
    print(f"  reuse, repeated call            {repeat_call * 1000:8.2f} ms")
    print(
        f"  reuse, whole new process        {process:8.2f} s   (interpreter + import dbt_kickoff + get_venv)"
    )
    if runs is not None:
        here, venv, here_second, venv_second = runs
        print(f"  first run_all, current env      {here:8.2f} s")
        print(
            f"  first run_all, in the venv      {venv:8.2f} s   venv/current = {venv / here:.2f}x (target <= 1.10)"
        )
        print(f"  second run_all, current env     {here_second:8.2f} s")
        print(
            f"  second run_all, in the venv     {venv_second:8.2f} s   venv/current = {venv_second / here_second:.2f}x"
        )


if __name__ == "__main__":
    main()
