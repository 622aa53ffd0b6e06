"""Git package source: cold clone versus cached update, on a repository with a few hundred commits.

Run from the repository root: ``.venv/bin/python bench/bench_git.py [--commits 300] [--repeat 15]``.
Prints medians (seconds) over file:// and over smart HTTP (git http-backend on 127.0.0.1).
Target: a cached update with no new commits under 0.5 s.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.sources.git_http_server import GitHttpServer
from tests.sources.upstream import GIT_TEST_ENV, PROJECT_FILES, Upstream

from dbt_kickoff.sources.git import GitSource

MODELS = 60


def build_history(upstream: Upstream, commits: int) -> None:
    """``commits`` commits touching a project of MODELS models, written with git fast-import (fast)."""
    lines: list[bytes] = []
    for number in range(commits):
        lines.append(b"commit refs/heads/main\n")
        lines.append(f"committer Bench <bench@example.invalid> {1_700_000_000 + number} +0000\n".encode())
        message = f"commit {number}".encode()
        lines.append(b"data %d\n%s\n" % (len(message), message))
        files = dict(PROJECT_FILES) if number == 0 else {}
        if number == 0:
            files.update({f"models/m{i:03d}.sql": f"select {i} as id\n" for i in range(MODELS)})
        files[f"models/m{number % MODELS:03d}.sql"] = f"select {number} as id, 'rev {number}' as note\n"
        for name, content in files.items():
            data = content.encode()
            lines.append(b"M 100644 inline %s\ndata %d\n%s\n" % (name.encode(), len(data), data))
    subprocess.run(
        ["git", "fast-import", "--quiet"],
        input=b"".join(lines),
        cwd=upstream.bare,
        env=GIT_TEST_ENV,
        check=True,
    )


def median_of(repeat: int, action: Callable[[], object], before: Callable[[], object] | None = None) -> float:
    timings = []
    for _ in range(repeat):
        if before is not None:
            before()
        start = time.perf_counter()
        action()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def bench(name: str, url: str, upstream: Upstream, workdir: Path, repeat: int) -> None:
    caches = iter(range(10_000))

    def fresh() -> GitSource:
        return GitSource(url, ref="main", cache_dir=workdir / f"cache-{name}-{next(caches)}")

    cold = median_of(max(3, repeat // 3), lambda: fresh().resolve())
    full = median_of(
        max(3, repeat // 3),
        lambda: subprocess.run(
            ["git", "clone", "-q", url, str(workdir / f"full-{name}-{next(caches)}")],
            env=GIT_TEST_ENV,
            check=True,
        ),
    )
    cached = GitSource(url, ref="main", cache_dir=workdir / f"cache-{name}-warm")
    cached.resolve()
    resolve_again = median_of(repeat, cached.resolve)
    no_new = median_of(repeat, cached.ensure_newest)
    counter = iter(range(10_000))
    one_new = median_of(
        max(3, repeat // 3),
        cached.ensure_newest,
        before=lambda: upstream.commit({"models/m000.sql": f"select {next(counter)} as id\n"}, "new"),
    )
    print(f"{name:>6}: cold clone (shallow) {cold:.3f} s | plain git clone (full history) {full:.3f} s")
    print(f"{'':>6}  cached resolve (offline check) {resolve_again:.3f} s")
    print(f"{'':>6}  cached update, no new commits  {no_new:.3f} s   (target < 0.5 s)")
    print(f"{'':>6}  cached update, one new commit  {one_new:.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=15)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-git-") as temp:
        workdir = Path(temp)
        upstream = Upstream(workdir / "remote")
        build_history(upstream, options.commits)
        subprocess.run(
            ["git", "fetch", "-q", "origin", "main"], cwd=upstream.work, env=GIT_TEST_ENV, check=True
        )
        subprocess.run(
            ["git", "reset", "-q", "--hard", "FETCH_HEAD"], cwd=upstream.work, env=GIT_TEST_ENV, check=True
        )
        print(f"repository: {options.commits} commits, {MODELS} models; medians of {options.repeat} runs")
        bench("file", upstream.file_url, upstream, workdir, options.repeat)
        server = GitHttpServer(upstream.bare.parent)
        try:
            bench("http", server.url(upstream.bare), upstream, workdir, options.repeat)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
