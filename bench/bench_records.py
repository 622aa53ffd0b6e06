"""Run records: what writing one adds to ``build()`` on the 200-model package (records on vs off, alternating,
same process list), and how fast and big the HTML report of a 2,000-node run is (Python + headless Chromium).

    ./dev bench records [--rounds 3] [--models 200]
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.generate_package import generate_package

import dbt_kickoff
from dbt_kickoff.records.recorder import Recorder
from dbt_kickoff.report import build_report_data, render_html


class RecorderClock:
    """Adds up the wall time spent inside the recorder's hooks (what writing records costs a call directly)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        for name in ("step_done", "finish"):
            original = getattr(Recorder, name)

            def timed(recorder: Recorder, *args: object, _original=original) -> None:  # type: ignore[no-untyped-def]
                started = time.perf_counter()
                try:
                    _original(recorder, *args)
                finally:
                    self.seconds += time.perf_counter() - started

            setattr(Recorder, name, timed)


def bench_build(models: int, rounds: int, work: Path) -> dict[str, float]:
    project = generate_package(work / "pkg", models=models)
    database = work / "bench.duckdb"
    times: dict[str, list[float]] = {"records off": [], "records on": [], "recorder": []}
    clock = RecorderClock()
    runners = {
        "records off": dbt_kickoff.package(f"duckdb:///{database}", project, records=False),
        "records on": dbt_kickoff.package(f"duckdb:///{database}", project, records=work / "records"),
    }
    try:
        for runner in runners.values():
            runner.build()  # warm-up: worker started, project parsed
        for _ in range(rounds):
            for name, runner in runners.items():
                before = clock.seconds
                started = time.perf_counter()
                runner.build()
                times[name].append(time.perf_counter() - started)
                if name == "records on":
                    times["recorder"].append(clock.seconds - before)
    finally:
        for runner in runners.values():
            runner.close()
    return {name: statistics.median(values) for name, values in times.items()}


def synthetic_record(nodes: int) -> tuple[dict[str, object], dict[str, object]]:
    rng = random.Random(7)
    start = datetime(2026, 12, 1, 12, tzinfo=timezone.utc)
    results, parents = [], {}
    clock = [0.0] * 8
    for i in range(nodes):
        thread = i % 8
        began = clock[thread]
        took = rng.uniform(0.05, 2.0)
        clock[thread] += took + 0.01
        uid = f"model.big.m{i}"
        parents[uid] = [f"model.big.m{j}" for j in rng.sample(range(max(i - 40, 0), i), min(i, 2))] if i else []
        results.append({"model_name": f"m{i}", "unique_id": uid, "resource_type": "model",
                        "status": "error" if i % 500 == 7 else "success", "time": took,
                        "message": "boom" if i % 500 == 7 else "OK", "thread_id": f"Thread-{thread + 1} (worker)",
                        "started_at": (start + timedelta(seconds=began)).isoformat(),
                        "completed_at": (start + timedelta(seconds=began + took)).isoformat()})
    data = {"call": "build", "outcome": "failed", "started_at": start.isoformat(),
            "finished_at": (start + timedelta(seconds=max(clock))).isoformat(),
            "steps": [{"command": "build", "duration": max(clock), "success": False,
                       "started_at": start.isoformat(), "results": results}],
            "package": {"project_name": "big"}, "identity": {}, "destination": {"type": "duckdb"}}
    return data, {"parent_map": parents}


def bench_report(nodes: int, work: Path) -> dict[str, float]:
    data, manifest = synthetic_record(nodes)
    started = time.perf_counter()
    html = render_html(build_report_data("synthetic", data, manifest))
    python_seconds = time.perf_counter() - started
    page = work / "big.html"
    page.write_text(html, encoding="utf-8")
    chromium = shutil.which("chromium")
    browser_seconds = float("nan")
    if chromium:
        args = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                f"--user-data-dir={work / 'chromium'}"]
        subprocess.run([*args, "--dump-dom", "about:blank"], capture_output=True, check=True)  # warm start
        started = time.perf_counter()
        subprocess.run([*args, "--dump-dom", "about:blank"], capture_output=True, check=True)
        blank = time.perf_counter() - started
        started = time.perf_counter()
        subprocess.run([*args, "--dump-dom", page.as_uri()], capture_output=True, check=True)
        browser_seconds = time.perf_counter() - started - blank
    return {"python_seconds": python_seconds, "chromium_seconds": browser_seconds,
            "megabytes": page.stat().st_size / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--nodes", type=int, default=2000)
    parser.add_argument("--skip-build", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-records-") as tmp:
        work = Path(tmp)
        report = bench_report(args.nodes, work)
        print(f"HTML report of {args.nodes} nodes: built in {report['python_seconds']:.2f}s"
              f", Chromium load+layout beyond an "
              f"empty page {report['chromium_seconds']:.2f}s, {report['megabytes']:.2f} MB")
        if not args.skip_build:
            medians = bench_build(args.models, args.rounds, work)
            ratio = medians["records on"] / medians["records off"]
            print(f"build() of {args.models} models, median of {args.rounds}: records off "
                  f"{medians['records off']:.2f}s, on {medians['records on']:.2f}s -> ratio {ratio:.3f}; time inside "
                  f"the recorder {medians['recorder']:.3f}s per build = "
                  f"{100 * medians['recorder'] / medians['records on']:.2f}% of it")


if __name__ == "__main__":
    main()
