"""Run records: what writing one adds to ``build()`` on the 200-model package (records on vs off, alternating,
same process list), and how fast and big the HTML report of a 1,000-model build (2,005 nodes with its tests) and
the history page over 30 such runs are (Python + headless Chromium).

    ./dev bench records [--rounds 3] [--models 200] [--report-models 1000] [--skip-build]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.generate_package import generate_package
from bench.synthetic_record import START, synthetic_record

import dbt_kickoff
from dbt_kickoff.records.recorder import Recorder
from dbt_kickoff.report import build_history, build_report_data, render_history_html, render_html


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


def chromium_seconds(page: Path, work: Path) -> float:
    """Chromium's load and layout of ``page`` beyond an empty page's (headless, median of 3), NaN without it."""
    chromium = shutil.which("chromium")
    if not chromium:
        return float("nan")
    args = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={work / 'chromium'}"]

    def timed(url: str) -> float:
        started = time.perf_counter()
        subprocess.run([*args, "--dump-dom", url], capture_output=True, check=True)
        return time.perf_counter() - started

    timed("about:blank")  # warm start
    blank = statistics.median(timed("about:blank") for _ in range(3))
    return statistics.median(timed(page.as_uri()) for _ in range(3)) - blank


def bench_report(models: int, work: Path) -> dict[str, float]:
    """The run report of a ``models``-model build (tests included) and the history page over 30 such runs."""
    data, manifest = synthetic_record(models, failing=(models - 30,))  # a late failure: most nodes ran
    started = time.perf_counter()  # the report's model (outcome, critical path, phases) and its HTML
    html = render_html(build_report_data("synthetic", data, manifest, "/records/synthetic"), log_href="dbt.log")
    python_seconds = time.perf_counter() - started
    page = work / "big.html"
    page.write_text(html, encoding="utf-8")
    runs = []
    for number in range(30):
        record, _ = synthetic_record(models, failing=(models // 7,) if number % 5 == 4 else (), seed=number,
                                     started=START + timedelta(hours=number), slower={3: 0.05 * number})
        runs.append((f"2026120{number:02d}", record))
    started = time.perf_counter()
    history = render_history_html(build_history("big", runs))
    history_seconds = time.perf_counter() - started
    history_page = work / "history.html"
    history_page.write_text(history, encoding="utf-8")
    return {"nodes": len(data["steps"][0]["results"]), "python_seconds": python_seconds,
            "chromium_seconds": chromium_seconds(page, work), "megabytes": page.stat().st_size / 2**20,
            "history_python_seconds": history_seconds, "history_chromium_seconds": chromium_seconds(history_page, work),
            "history_megabytes": history_page.stat().st_size / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--report-models", type=int, default=1000)
    parser.add_argument("--skip-build", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-records-") as tmp:
        work = Path(tmp)
        report = bench_report(args.report_models, work)
        print(f"HTML report of a {args.report_models}-model build ({report['nodes']:.0f} nodes): built in "
              f"{report['python_seconds']:.2f}s, Chromium load+layout beyond an empty page "
              f"{report['chromium_seconds']:.2f}s, {report['megabytes']:.2f} MB")
        print(f"history page over 30 such runs: built in {report['history_python_seconds']:.2f}s, Chromium "
              f"{report['history_chromium_seconds']:.2f}s, {report['history_megabytes']:.2f} MB")
        if not args.skip_build:
            medians = bench_build(args.models, args.rounds, work)
            ratio = medians["records on"] / medians["records off"]
            print(f"build() of {args.models} models, median of {args.rounds}: records off "
                  f"{medians['records off']:.2f}s, on {medians['records on']:.2f}s -> ratio {ratio:.3f}; time inside "
                  f"the recorder {medians['recorder']:.3f}s per build = "
                  f"{100 * medians['recorder'] / medians['records on']:.2f}% of it")


if __name__ == "__main__":
    main()
