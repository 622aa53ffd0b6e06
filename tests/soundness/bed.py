"""The soundness test bed: the package of :mod:`tests.soundness.package`, its warehouse (a DuckDB file or a
PostgreSQL database), its records, and the check every changed-only call gets.

Every dbt-kickoff call runs in a new process (:mod:`tests.soundness.call`), as a scheduled task would. The
check (:meth:`Bed.changed_only`): copy the warehouse as it is before the call, let the call run, then run a
plain ``dbt build`` (dbt's own command line, no dbt-kickoff) of a copy of the package on the copy, and compare
every model relation of the two warehouses (:mod:`tests.soundness.tables`). A changed-only build is sound when
its warehouse ends as the full build's does.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from bench.branch_loads import Warehouse

from tests.soundness.package import PROJECT, SCHEMA, SOURCE_SCHEMAS
from tests.soundness.tables import duckdb_differences, postgres_differences

CALL_SCRIPT = Path(__file__).with_name("call.py")
DBT = Path(sys.executable).with_name("dbt")
CALL_TIMEOUT = 900  # seconds; minutes when the machine is shared
THREADS = 4
_NOT_PACKAGE = ("records", "pipelines")  # folders of the bed root that are not the package's


@dataclass
class Outcome:
    """What one call printed: node results, the error it raised, its changed-only decision."""

    results: list[dict[str, Any]]
    error: dict[str, str] | None
    changed: dict[str, Any] | None
    skipped: str | None

    def built(self, resource_type: str = "model") -> dict[str, str | None]:
        """name -> reason of the nodes of ``resource_type`` that dbt ran (skipped ones left out)."""
        return {r["name"]: r["reason"] for r in self.results
                if r["resource_type"] == resource_type and r["status"] != "skipped"}

    @property
    def decision(self) -> str:
        return str((self.changed or {}).get("describe"))

    def __str__(self) -> str:
        error = f"; error {self.error['type']}: {self.error['message'][:300]}" if self.error else ""
        return f"built {sorted(self.built())}; {self.decision}{error}"


@dataclass
class Checked:
    """A changed-only call and how its warehouse differs from a full build's (``{}``: it does not)."""

    outcome: Outcome
    differences: dict[str, str]

    def __str__(self) -> str:
        return f"{self.outcome}; differences from a full build: {self.differences}"


@dataclass
class Bed:
    """One package (``root``/project, beside the folders it reads outside it), one warehouse, one records
    store (``root``/records)."""

    root: Path
    warehouse: Warehouse
    env: dict[str, str] = field(default_factory=dict)
    """Environment variables of every dbt process (the calls' and the reference builds')."""

    @property
    def project(self) -> Path:
        return self.root / "project"

    @property
    def records(self) -> Path:
        return self.root / "records"

    @property
    def reference_root(self) -> Path:
        return self.root.with_name(f"{self.root.name}_reference")

    # -- calls -------------------------------------------------------------------------------------------------
    def destination(self, warehouse: Warehouse | None = None) -> dict[str, Any]:
        return destination_of(warehouse or self.warehouse)

    def request(self, method: str = "build", arguments: Mapping[str, Any] | None = None, *,
                warehouse: Warehouse | None = None, destination: Mapping[str, Any] | None = None,
                own_profiles: bool = False, dataset: str = SCHEMA, **package_options: Any) -> dict[str, Any]:
        """What :mod:`tests.soundness.call` reads: the bed's destination (or ``destination``, or with
        ``own_profiles`` none: the package's profiles.yml), its records and schema, ``package_options``."""
        chosen = None if own_profiles else dict(destination or self.destination(warehouse))
        return {"destination": chosen, "project": str(self.project),
                "method": method, "arguments": dict(arguments or {}),
                "package": {"dataset_name": dataset, "records": str(self.records), "threads": THREADS,
                            **package_options}}

    def call(self, method: str = "build", arguments: Mapping[str, Any] | None = None, **options: Any) -> Outcome:
        """One dbt-kickoff call in a new process (``options``: see :meth:`request`)."""
        completed = subprocess.run([sys.executable, str(CALL_SCRIPT)], input=json.dumps(self.request(
            method, arguments, **options)), capture_output=True, text=True, timeout=CALL_TIMEOUT,
            env=self.process_env(), cwd=self.root)
        return _outcome(completed.stdout, completed.stderr)

    def killed_call(self, method: str, arguments: Mapping[str, Any], *, when_started: str,
                    after_seconds: float = 3.0, **options: Any) -> None:
        """Start a call in a new process and SIGKILL that process ``after_seconds`` after node ``when_started``
        starts (no handler runs: as the OOM killer or ``kill -9`` stop a task); then wait until the dbt
        processes it started are gone."""
        process = subprocess.Popen([sys.executable, str(CALL_SCRIPT)], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                   env=self.process_env(), cwd=self.root)
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(json.dumps(self.request(method, arguments, **options)))
        process.stdin.close()
        seen: list[str] = []
        try:
            for line in process.stdout:
                seen.append(line)
                if line.startswith("{") and json.loads(line).get("started") == when_started:
                    break
            else:
                raise AssertionError(f"{when_started} never started; the call printed {seen}")
            time.sleep(after_seconds)
            assert process.poll() is None, f"the call ended before it could be killed: {seen}"
            children = psutil.Process(process.pid).children(recursive=True)
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
            _, alive = psutil.wait_procs(children, timeout=120)
            assert not alive, f"dbt processes left running after the task was killed: {alive}"
            rest = process.stdout.read()
            assert '"outcome"' not in rest, f"the call finished before it was killed: {rest}"
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            process.stdout.close()

    def process_env(self) -> dict[str, str]:
        return {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", **self.env}

    # -- the check ---------------------------------------------------------------------------------------------
    def changed_only(self, *, reference_args: Sequence[str] = (), **arguments: Any) -> Checked:
        """``build(changed_only=True, **arguments)`` in a new process, checked against a full build of the
        same warehouse as it was before the call (``reference_args``: more arguments of that ``dbt build``)."""
        reference = self.copy_warehouse()
        outcome = self.call("build", {"changed_only": True, **arguments})
        return Checked(outcome, self.differences_from_full_build(reference, reference_args))

    def copy_warehouse(self) -> Warehouse:
        """A copy of the warehouse, as it is now, for the reference build."""
        return copy_warehouse(self.warehouse, self.reference_root)

    def differences_from_full_build(self, reference: Warehouse, args: Sequence[str] = ()) -> dict[str, str]:
        """Run a plain ``dbt build`` of a copy of the package on ``reference`` and compare it with the
        warehouse; ``{}`` when every model relation is the same."""
        self.full_build(reference, args)
        return differences(self.warehouse, reference)

    def full_build(self, warehouse: Warehouse, args: Sequence[str] = (),
                   schema: str = SCHEMA) -> subprocess.CompletedProcess[str]:
        """dbt's own ``dbt build`` (no dbt-kickoff, no state) of a fresh copy of the package into ``schema`` of
        ``warehouse``."""
        copy = self.reference_root / "package"
        shutil.rmtree(copy, ignore_errors=True)
        for folder in self.root.iterdir():
            if folder.is_dir() and folder.name not in _NOT_PACKAGE:
                shutil.copytree(folder, copy / folder.name, symlinks=True,
                                ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
        profiles = self.reference_root / "profiles"
        profiles.mkdir(parents=True, exist_ok=True)
        output = {**self.destination(warehouse), "schema": schema, "threads": THREADS}
        env = self.process_env()
        if "password" in output:  # the reference profile holds no password either
            env["SOUND_REFERENCE_PASSWORD"] = str(output["password"])
            output["password"] = "{{ env_var('SOUND_REFERENCE_PASSWORD') }}"
        (profiles / "profiles.yml").write_text(json.dumps(
            {PROJECT: {"target": "reference", "outputs": {"reference": output}}}), encoding="utf-8")
        where = ["--project-dir", str(copy / "project"), "--profiles-dir", str(profiles)]
        if (copy / "project" / "packages.yml").exists():
            subprocess.run([str(DBT), "deps", *where], check=True, capture_output=True, text=True,
                           timeout=CALL_TIMEOUT, env=env, cwd=copy)
        built = subprocess.run([str(DBT), "build", *where, *args], capture_output=True, text=True,
                               timeout=CALL_TIMEOUT, env=env, cwd=copy)
        assert built.returncode == 0, f"the reference full build failed:\n{built.stdout[-4000:]}"
        return built


def destination_of(warehouse: Warehouse) -> dict[str, Any]:
    if warehouse.duckdb_path is not None:
        return {"type": "duckdb", "path": str(warehouse.duckdb_path)}
    assert warehouse.postgres is not None
    return {"type": "postgres", **{k: v for k, v in warehouse.postgres.items() if k != "type"}}


def differences(tested: Warehouse, reference: Warehouse) -> dict[str, str]:
    """How the model relations of ``tested`` differ from ``reference`` (``{}``: not at all)."""
    if tested.duckdb_path is not None:
        assert reference.duckdb_path is not None
        return duckdb_differences(tested.duckdb_path, reference.duckdb_path, SOURCE_SCHEMAS)
    assert tested.postgres is not None and reference.postgres is not None
    return postgres_differences(tested.postgres, reference.postgres, SOURCE_SCHEMAS)


def copy_warehouse(warehouse: Warehouse, folder: Path) -> Warehouse:
    """A copy of ``warehouse``: the DuckDB file ``folder``/reference.duckdb, or the PostgreSQL database
    ``<dbname>_reference`` (made from it as a template; no session may be open on it)."""
    if warehouse.duckdb_path is not None:
        folder.mkdir(parents=True, exist_ok=True)
        copy = folder / "reference.duckdb"
        copy_duckdb_file(warehouse.duckdb_path, copy)
        return Warehouse(duckdb_path=copy)
    assert warehouse.postgres is not None
    name = f"{warehouse.postgres['dbname']}_reference"
    create_database(warehouse.postgres, name, template=str(warehouse.postgres["dbname"]))
    return Warehouse(postgres={**warehouse.postgres, "dbname": name})


def copy_duckdb_file(source: Path, copy: Path) -> None:
    """Copy a DuckDB file with its write-ahead log, if a process left one."""
    for suffix in ("", ".wal"):
        target = copy.with_name(copy.name + suffix)
        target.unlink(missing_ok=True)
        if source.with_name(source.name + suffix).exists():
            shutil.copy2(source.with_name(source.name + suffix), target)


def create_database(credentials: Mapping[str, Any], name: str, template: str | None = None) -> None:
    """(Re)create database ``name`` on the server of ``credentials`` (empty, or a copy of ``template``)."""
    import psycopg2

    con = psycopg2.connect(**{k: v for k, v in credentials.items() if k not in ("type", "dbname")},
                           dbname="postgres")
    con.autocommit = True
    try:
        with con.cursor() as cur:
            cur.execute(f'drop database if exists "{name}" with (force)')
            cur.execute(f'create database "{name}"' + (f' template "{template}"' if template else ""))
    finally:
        con.close()


def _outcome(stdout: str, stderr: str) -> Outcome:
    for line in reversed(stdout.splitlines()):
        if line.startswith('{"outcome"'):
            return Outcome(**json.loads(line)["outcome"])
    raise AssertionError(f"the call printed no outcome; stdout:\n{stdout[-3000:]}\nstderr:\n{stderr[-3000:]}")
