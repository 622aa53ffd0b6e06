"""Shared helpers of the benchmarks: timing whole processes, statistics, tables and result files."""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
PYTHON = Path(sys.executable)
DBT = PYTHON.parent / "dbt"


@dataclass
class Sample:
    """One measured process: wall time and the peak RSS of the process tree (from wait4)."""

    seconds: float
    peak_rss_mb: float


@dataclass
class Series:
    """All samples of one variant on one package."""

    package: str
    variant: str
    samples: list[Sample] = field(default_factory=list)

    @property
    def times(self) -> list[float]:
        return [s.seconds for s in self.samples]

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    def to_dict(self) -> dict[str, Any]:
        return {
            "package": self.package,
            "variant": self.variant,
            "median_s": round(self.median, 3),
            "min_s": round(min(self.times), 3),
            "max_s": round(max(self.times), 3),
            "samples": [asdict(s) for s in self.samples],
        }


class BenchError(RuntimeError):
    """A measured command failed: the benchmark would compare nothing."""


def run_process(argv: Sequence[str], *, cwd: Path, env: Mapping[str, str] | None = None) -> Sample:
    """Run ``argv`` to completion and measure it; raise :class:`BenchError` (with its output) when it fails.

    The peak RSS comes from ``wait4`` and covers the process and the children it waited for.
    """
    started = time.perf_counter()
    process = subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=dict(env) if env is not None else None,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        tail = output.decode(errors="replace")[-4000:]
        raise BenchError(f"{' '.join(argv[:4])}... exited with {process.returncode} in {cwd}:\n{tail}")
    return Sample(seconds=elapsed, peak_rss_mb=usage.ru_maxrss / 1024)


def run_chain(steps: Sequence[Sequence[str]], *, cwd: Path, env: Mapping[str, str] | None = None) -> Sample:
    """Run processes one after the other (like ``a && b && c``); total time, largest peak RSS."""
    samples = [run_process(step, cwd=cwd, env=env) for step in steps]
    return Sample(sum(s.seconds for s in samples), max(s.peak_rss_mb for s in samples))


def dbt_env() -> dict[str, str]:
    """The environment of every measured process: no colours, no anonymous usage statistics, and bytecode
    caches allowed (``PYTHONDONTWRITEBYTECODE`` dropped: every installed environment has them, so a measured
    process must not compile its Python from source on every run)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update({"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_USE_COLORS": "false", "DO_NOT_TRACK": "1"})
    return env


def fresh_copy(source: Path, target: Path) -> Path:
    """Replace ``target`` with a copy of ``source`` (file or folder)."""
    if target.is_dir():
        shutil.rmtree(target)
    elif target.exists():
        target.unlink()
    if source.is_dir():
        shutil.copytree(source, target)
    else:
        shutil.copy2(source, target)
    return target


def duckdb_profiles(folder: Path, *, profile: str, path: Path, schema: str, threads: int) -> Path:
    """Write a profiles.yml for plain dbt on a DuckDB file (the same settings dbt-kickoff generates)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "profiles.yml").write_text(
        f"{profile}:\n  target: duckdb\n  outputs:\n    duckdb:\n      type: duckdb\n"
        f"      path: {json.dumps(str(path))}\n      schema: {schema}\n      threads: {threads}\n",
        encoding="utf-8",
    )
    return folder


def measure_round_robin(
    variants: Mapping[str, Callable[[], Sample]],
    *,
    repeat: int,
    warmup: int = 1,
    before_each: Callable[[str], None] | None = None,
    package: str,
    log: Callable[[str], None] = print,
) -> list[Series]:
    """Measure every variant ``repeat`` times, interleaved so drifts in machine load hit all of them alike.

    ``warmup`` unmeasured runs per variant come first (they fill dbt's partial-parse cache, as a second
    run in real life would). ``before_each(variant)`` resets state (outside the timing).
    """
    series = {name: Series(package, name) for name in variants}
    for round_number in range(-warmup, repeat):
        for name, measure in variants.items():
            if before_each is not None:
                before_each(name)
            sample = measure()
            label = "warm-up" if round_number < 0 else f"run {round_number + 1}/{repeat}"
            log(
                f"  {package:<8} {name:<26} {label:<10} {sample.seconds:7.2f} s  {sample.peak_rss_mb:6.0f} MB"
            )
            if round_number >= 0:
                series[name].samples.append(sample)
    return list(series.values())


def print_table(title: str, series: Sequence[Series], baselines: Sequence[str]) -> None:
    """Medians per package and variant, with the ratio to each baseline variant."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in ("package", "variant", "median s", "min s", "max s", "peak RSS MB"):
        table.add_column(column, justify="left" if column in ("package", "variant") else "right")
    for baseline in baselines:
        table.add_column(f"x {baseline}", justify="right")
    by_key = {(s.package, s.variant): s for s in series}
    for s in series:
        ratios = []
        for baseline in baselines:
            base = by_key.get((s.package, baseline))
            ratios.append(f"{s.median / base.median:.2f}" if base else "-")
        table.add_row(
            s.package,
            s.variant,
            f"{s.median:.2f}",
            f"{min(s.times):.2f}",
            f"{max(s.times):.2f}",
            f"{max(x.peak_rss_mb for x in s.samples):.0f}",
            *ratios,
        )
    Console(width=160).print(table)


def ratios(series: Sequence[Series], baselines: Sequence[str]) -> dict[str, dict[str, dict[str, float]]]:
    """{package: {variant: {baseline: ratio of medians}}}."""
    by_key = {(s.package, s.variant): s for s in series}
    out: dict[str, dict[str, dict[str, float]]] = {}
    for s in series:
        for baseline in baselines:
            base = by_key.get((s.package, baseline))
            if base:
                out.setdefault(s.package, {}).setdefault(s.variant, {})[baseline] = round(
                    s.median / base.median, 3
                )
    return out


def machine() -> dict[str, Any]:
    from importlib.metadata import version

    versions = {}
    for dist in ("dbt-core", "dbt-duckdb", "duckdb", "dbt-kickoff"):
        try:
            versions[dist] = version(dist)
        except Exception:  # not installed: leave it out
            continue
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "versions": versions,
    }


def write_results(name: str, payload: Mapping[str, Any]) -> Path:
    """Write ``bench/results/<name>-<UTC time>.json`` and return its path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS_DIR / f"{name}-{stamp}.json"
    document = {"benchmark": name, "created_at": stamp, "machine": machine(), **payload}
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return path
