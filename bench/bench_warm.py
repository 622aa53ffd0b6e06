"""Warm start on any machine (issue 22): a fresh machine (empty HOME, fresh git clone at a new path) on the
generated 1,000-model package, with versus without the warm state in the run records store (S3: moto's server).

    ./dev bench warm [--models 1000] [--rounds 3] [--no-dagster]

Every measured run is a whole process (``bench/warm_machine.py``): clone, import dbt-kickoff, ``build`` of a
small selection (the seed and model dbt reaches first, and a model using the git dbt package, no tests: what comes after
the first model is the same with or without warm state). Variants, interleaved per round:

- ``cold``: no warm state (``warm_state=False``): ``dbt deps`` clones the dbt package from a local git
  repository (our stand-in for the package hub) and dbt parses the whole project;
- ``warm``: the store holds the parse state and packages another machine published: both are restored;
- ``warm, 1 model edited``: the same with one model changed in the clone (dbt parses that file only).

Reported: process start to the first model started (target: warm ≤ 25% of cold), dbt's own parse time
(``perf_info.json``: target ≤ 3 s warm), the packages (``dbt deps`` versus the restore), the whole process; then
the size of the stored entries, and reading the manifest without dbt: ``PackageRunner.manifest()`` in a fresh
process, and Dagster definitions of the package loaded in the Dagster test venv (target ≤ 1 s).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import RESULTS_DIR, machine
from bench.generate_package import generate_package

MACHINE = Path(__file__).with_name("warm_machine.py")
SELECTION = ["--select", "+m1_000", "shouted", "--exclude", "resource_type:test"]
EDITED = "models/layer_3/m3_007.sql"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("moto did not start")


def git(folder: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=b", "-c", "user.email=b@b", *args], cwd=folder, check=True,
                   capture_output=True)


def hub_package(folder: Path, macros: int = 150) -> str:
    """A dbt package of ``macros`` macro files (dbt_utils has about as many) in a git repository."""
    (folder / "macros").mkdir(parents=True)
    (folder / "dbt_project.yml").write_text("name: helpers\nversion: '1.0'\nconfig-version: 2\n")
    (folder / "macros" / "shout.sql").write_text("{% macro shout(text) %}upper({{ text }}){% endmacro %}")
    for i in range(macros - 1):
        (folder / "macros" / f"m{i:03d}.sql").write_text(
            f"{{% macro helper_{i}(x) %}}\n  {{{{ return(x ~ '_{i}') }}}}\n{{% endmacro %}}\n")
    git(folder, "init", "-q")
    git(folder, "add", ".")
    git(folder, "commit", "-qm", "helpers")
    return f"file://{folder}"


def origin_package(folder: Path, models: int, hub: str) -> str:
    package = generate_package(folder, models=models)
    (package / "packages.yml").write_text(f"packages:\n  - git: {hub}\n    revision: HEAD\n")
    (package / "models" / "shouted.sql").write_text(
        "select {{ helpers.shout('label') }} as label from {{ ref('m1_000') }}\n")
    (package / ".gitignore").write_text("target/\nlogs/\ndbt_packages/\n")
    git(package, "init", "-q")
    git(package, "add", ".")
    git(package, "commit", "-qm", "package")
    return f"file://{package}"


class Machines:
    """Fresh machines: each run gets a new HOME and a clone at a new path."""

    def __init__(self, work: Path, common: dict[str, Any]) -> None:
        self.work = work
        self.common = common
        self.count = 0

    def run(self, script: Path, config: dict[str, Any], python: str = sys.executable) -> dict[str, Any]:
        self.count += 1
        home = self.work / f"home-{self.count}"
        home.mkdir()
        env = {**os.environ, "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache"),
               "XDG_STATE_HOME": str(home / ".state"), "XDG_CONFIG_HOME": str(home / ".config"),
               "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1"}
        started = time.time()
        done = subprocess.run([python, str(script), json.dumps({**config, "started": started})], env=env, cwd=home,
                              capture_output=True, text=True, timeout=3600)
        if done.returncode != 0:
            raise RuntimeError(f"{script.name} failed:\n{done.stderr[-5000:]}")
        result = dict(json.loads(done.stdout.strip().splitlines()[-1]))
        result["process_s"] = time.time() - started
        shutil.rmtree(home, ignore_errors=True)
        return result

    def build(self, **config: Any) -> dict[str, Any]:
        clone = self.work / f"clone-{self.count + 1}" / "pkg"
        Path(self.common["database"]).unlink(missing_ok=True)
        try:
            return self.run(MACHINE, {**self.common, "clone": str(clone), "cmd_params": SELECTION, **config})
        finally:
            shutil.rmtree(clone.parent, ignore_errors=True)


def median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 3) if present else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-dagster", action="store_true", help="skip the Dagster definitions load")
    args = parser.parse_args()

    import boto3

    from dbt_kickoff.records import RecordStore
    from dbt_kickoff.warm import WarmStore

    moto, endpoint = start_moto()
    work = Path(tempfile.mkdtemp(prefix="bench-warm-"))
    try:
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="bench",
                     aws_secret_access_key="bench").create_bucket(Bucket="warm")
        options = {"key": "bench", "secret": "bench",
                   "client_kwargs": {"endpoint_url": endpoint, "region_name": "us-east-1"}}
        (work / "db").mkdir()
        common = {"origin": origin_package(work / "origin", args.models, hub_package(work / "hub" / "helpers")),
                  "destination": f"duckdb:///{work / 'db' / 'warehouse.duckdb'}", "dataset": "analytics",
                  "records": "s3://warm/records", "records_options": options, "threads": 4,
                  "database": str(work / "db" / "warehouse.duckdb")}
        machines = Machines(work, common)
        print(f"{args.models}-model package; records on S3 (moto at {endpoint}); a first machine publishes...")
        first = machines.build()
        assert first["steps"] == ["deps", "build"], first["steps"]
        store = WarmStore(RecordStore("s3://warm/records", options))
        entries = store.entries()
        clean_state = {e.path: store.read(e.path) for e in entries if e.kind == "parse"}

        variants: dict[str, list[dict[str, Any]]] = {"cold": [], "warm": [], "warm, 1 model edited": []}
        for round_number in range(1, args.rounds + 1):
            variants["cold"].append(machines.build(warm_state=False))
            variants["warm"].append(machines.build())
            variants["warm, 1 model edited"].append(machines.build(edits={EDITED: "\n-- edited\n"}))
            for path, data in clean_state.items():  # the edited machine published its state: put the clean one back
                assert data is not None
                store.write(path, data)
            for name, runs in variants.items():
                run = runs[-1]
                print(f"  round {round_number} {name:<22} first model {run['first_model_s']:6.2f} s  "
                      f"parse {run['parse_s'] or 0:5.2f} s  process {run['process_s']:6.2f} s  steps {run['steps']}")
        for run in variants["warm"] + variants["warm, 1 model edited"]:
            warm = run["report"]["warm_state"]
            assert warm["restored"] == ["parse state", "packages"] and warm["partial_parse"] == "accepted", warm

        summary: dict[str, Any] = {}
        for name, runs in variants.items():
            summary[name] = {
                "first_model_s": median([r["first_model_s"] for r in runs]),
                "parse_s": median([r["parse_s"] for r in runs]),
                "process_s": median([r["process_s"] for r in runs]),
                "deps_s": median([r["step_seconds"].get("deps") for r in runs]),
                "packages_restore_s": median([(r["report"]["warm_state"] or {}).get("seconds", {}).get("packages")
                                              if r["report"].get("warm_state") else None for r in runs]),
                "parse_state_restore_s": median([(r["report"]["warm_state"] or {}).get("seconds", {})
                                                 .get("parse state") if r["report"].get("warm_state") else None
                                                 for r in runs]),
            }
        cold_first = summary["cold"]["first_model_s"]
        for name in ("warm", "warm, 1 model edited"):
            summary[name]["first_model_vs_cold"] = round(summary[name]["first_model_s"] / cold_first, 3)

        manifest_runs = []
        for _ in range(args.rounds):
            clone = work / f"clone-m{machines.count}" / "pkg"
            manifest_runs.append(machines.run(MACHINE, {**common, "clone": str(clone), "call": "manifest"}))
            shutil.rmtree(clone.parent, ignore_errors=True)
        assert not any(r["dbt_started"] for r in manifest_runs)
        summary["manifest() without dbt"] = {"process_s": median([r["process_s"] for r in manifest_runs]),
                                             "imported_s": median([r["imported_s"] for r in manifest_runs]),
                                             "manifest_s": median([r["manifest_s"] for r in manifest_runs]),
                                             "nodes": manifest_runs[0]["nodes"]}
        print(json.dumps(summary, indent=2))
        if not args.no_dagster:
            summary["dagster definitions"] = dagster_load(machines, work, common, args.rounds)
        summary["store"] = [{"kind": e.kind, "bytes": e.size} for e in store.entries()]
        print(json.dumps(summary, indent=2))
        RESULTS_DIR.mkdir(exist_ok=True)
        out = RESULTS_DIR / f"warm-{time.strftime('%Y%m%d-%H%M%S')}.json"
        out.write_text(json.dumps({"machine": machine(), "models": args.models, "summary": summary,
                                   "runs": variants}, indent=2, default=str))
        print(f"written: {out}")
    finally:
        moto.terminate()
        moto.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


def dagster_load(machines: Machines, work: Path, common: dict[str, Any], rounds: int) -> dict[str, Any]:
    """Dagster definitions of the package, loaded by a code location whose fresh clone dbt never touched."""
    from tests.integrations.venvs import orchestrator_python

    python = orchestrator_python("dagster-s3", ["dagster==1.13.*"], extras=["records-s3"])  # reads the store on S3
    script = Path(__file__).resolve().parents[1] / "tests" / "integrations" / "dagster" / "definitions_script.py"
    runs = []
    for _ in range(rounds):
        clone = work / f"clone-d{machines.count}" / "pkg"
        subprocess.run(["git", "clone", "-q", common["origin"], str(clone)], check=True)
        records = {"records": common["records"], "records_options": common["records_options"]}
        runs.append(machines.run(script, {"package": str(clone), "destination": common["destination"],
                                          "dataset": common["dataset"], **records}, python=str(python)))
        assert not (clone / "logs").exists(), "dbt started"
        shutil.rmtree(clone.parent, ignore_errors=True)
    return {key: median([r[key] for r in runs]) for key in ("total_s", "manifest_s", "imported_s", "process_s")} | {
        "assets": runs[0]["assets"]}


if __name__ == "__main__":
    main()
