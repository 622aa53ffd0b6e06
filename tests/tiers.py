"""The test tiers: which tests run real dbt, start a server or make a virtual environment.

Every test gets the markers ``dbt``, ``server`` and ``venv`` that fit it, set at collection
(``tests/conftest.py``) so nobody has to remember them:

- from the fixtures it uses (:data:`FIXTURE_MARKERS`: ``postgres`` is a server, ``duckdb_venv`` a venv...);
- from its module or folder (:data:`MODULE_MARKERS`), for tests that run dbt in their own body
  (``dbt_kickoff.package(...).run_all()`` on the real engine, the CLI's ``run``...).

``./dev test-fast`` runs the tests with none of them (``-m "not dbt and not server and not venv"``).

The dbt Cloud emulator is **not** a server here: it runs in the test's own process (a thread) and starts in
milliseconds, so the dbt Cloud tests stay in the fast tier. The git HTTP server (``http_server``) is, as are
PostgreSQL, moto's S3, sshd and ``git daemon``.

A guard watches every process a test starts (:func:`kind_of`): a test without any of the three markers that
starts dbt (the dbt worker, a ``dbt`` executable, a script importing dbt), a server or a venv installer is failed
with a message that says which marker it lacks; the process is refused when the test starts it directly, and
seen (not refused) when a child of the test starts it (a CLI run in a subprocess). A marked test that starts a
kind it is not marked with gets a warning. So a test that runs dbt cannot slip into the fast tier unmarked.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import psutil

TIER_MARKERS = {
    "dbt": "runs real dbt (the dbt worker, a dbt executable, or a script importing dbt)",
    "server": "starts a server: PostgreSQL, moto S3, sshd, git daemon or the git HTTP server",
    "venv": "creates a virtual environment (or installs into one)",
}

FIXTURE_MARKERS: dict[str, tuple[str, ...]] = {
    # servers
    "postgres": ("server",),
    "moto_s3": ("server",),
    "ssh_server": ("server",),
    "http_server": ("server",),
    "private_server": ("server",),
    "git_daemon": ("server",),
    "prefect_api": ("server",),
    # virtual environments (and the orchestrators installed in them, which run dbt there)
    "duckdb_venv": ("venv", "dbt"),
    "venv_root": ("venv",),
    "fusion_venv": ("venv", "dbt"),
    "airflow": ("venv", "dbt"),
    "live_airflow": ("venv", "dbt", "server"),
    "dagster_python": ("venv", "dbt"),
    "prefect_python": ("venv", "dbt"),
    # fixtures that run dbt while they are set up
    "debug_runs": ("dbt",),
    "failed_run": ("dbt",),
    "loaded_db": ("dbt",),
}

MODULE_MARKERS: dict[str, tuple[str, ...]] = {
    # folders that exist to run dbt (a file name ending in "/" is a folder)
    "changed_core/": ("dbt",),
    "changed_scale/": ("dbt",),
    "soundness/": ("dbt",),
    "warm/test_warm_shop.py": ("dbt",),
    "warm/test_warm_machines.py": ("dbt",),
    "stopping/": ("dbt",),
    "core/": ("dbt",),
    "core/test_engines.py": ("venv",),  # a bare venv without dbt
    "demo/test_cli_demo.py": ("dbt",),
    "demo/test_dbt_package.py": ("dbt",),
    "fusion/test_fusion_postgres.py": ("dbt",),
    "integrations/": ("dbt",),
    "hardening/test_git_repair.py": ("dbt",),
    "hardening/test_output_folders.py": ("dbt",),
    "hardening/test_parse_state.py": ("dbt",),
    "hardening/test_secrets_dbt.py": ("dbt",),
    "hardening/test_secrets_on_disk.py": ("dbt",),
    "hardening/test_selection_and_quiet.py": ("dbt",),
    "records/test_changed_on_s3.py": ("dbt",),
    "records/test_cli_records.py": ("dbt",),
    "records/test_records_cancel.py": ("dbt",),
    "records/test_records_duckdb.py": ("dbt",),
    "records/test_records_postgres.py": ("dbt",),
    "records/test_failure_output.py": ("dbt",),
    "records/test_report_html.py": ("dbt",),
    "records/test_report_lineage_s3.py": ("dbt",),
    "profiles/test_dbt_debug.py": ("dbt",),
    "sources/test_git_dbt_state.py": ("dbt",),
    "environments/test_run_in_venv.py": ("dbt", "venv"),
    "environments/test_venv.py": ("dbt", "venv"),
    "environments/test_concurrency.py": ("dbt", "venv"),  # a venv build probes its dbt
    "environments/test_bad_input.py": ("venv",),
    "environments/test_v1_versions.py": ("dbt", "venv"),
}
"""Modules (paths under tests/) whose tests run dbt, or make venvs, in their own body."""
# exceptions: modules of those folders that run no dbt
MODULE_EXCEPTIONS = frozenset({"core/test_worker_protocol.py", "changed_core/test_changed_units.py",
                               "changed_core/test_soundness_units.py", "integrations/airflow/test_connections.py",
                               "integrations/test_selection.py", "integrations/airflow/test_plan.py",
                               "integrations/airflow/test_verdict.py"})

STUB_DBT = str(Path(__file__).with_name("stub_dbt"))
"""A stand-in ``dbt`` package (tests/stub_dbt): a worker running it does not run dbt."""
IMPORTS_DBT = re.compile(r"\bdbtRunner\b|\b(?:import|from)\s+dbt(?:\.|\s|$)")
"""Python code (``python -c``) that imports dbt itself (not dbt_kickoff)."""
SERVER_PROGRAMS = frozenset({"postgres", "pg_ctl", "initdb", "pg_ctlcluster", "sshd", "moto_server"})
DBT_PROGRAMS = frozenset({"dbt", "dbtf"})


def markers_of(path: str, fixtures: Sequence[str]) -> set[str]:
    """The tier markers of a test in ``path`` (relative to tests/) that uses ``fixtures``."""
    found = {marker for fixture in fixtures for marker in FIXTURE_MARKERS.get(fixture, ())}
    if path not in MODULE_EXCEPTIONS:
        for where, markers in MODULE_MARKERS.items():
            if path == where or (where.endswith("/") and path.startswith(where)):
                found.update(markers)
    return found


def kind_of(argv: Sequence[str], env: Mapping[str, str] | None = None) -> str | None:
    """``"dbt"``, ``"server"`` or ``"venv"`` when the process ``argv`` (with ``env``) is one, else ``None``."""
    words = [str(word) for word in argv]
    names = [Path(word).name for word in words]
    if not words:
        return None
    if "worker_script.py" in names:
        pythonpath = (env if env is not None else os.environ).get("PYTHONPATH", "")
        return None if STUB_DBT in pythonpath.split(os.pathsep) else "dbt"
    if (names[0] in DBT_PROGRAMS and _is_dbt(words[0], env)) or _module(words) == "dbt":
        return "dbt"
    if "-c" in words[:-1] and IMPORTS_DBT.search(words[words.index("-c") + 1]):
        return "dbt"
    if SERVER_PROGRAMS & set(names) or _module(words) == "moto.server":
        return "server"
    if names[0] == "git" and ("daemon" in words or "http-backend" in words):
        return "server"
    if names[0] == "virtualenv" or _module(words) in ("venv", "virtualenv"):
        return "venv"
    if (names[0] == "uv" or _module(words) == "uv") and ("venv" in words or ("pip" in words and "install" in words)):
        return "venv"
    if (names[0] in ("pip", "pip3") or _module(words) == "pip") and "install" in words:
        return "venv"
    return None


def _is_dbt(program: str, env: Mapping[str, str] | None) -> bool:
    """True unless ``program`` is a shell script standing in for dbt (dbt is a Python entry point or, v2, a
    binary)."""
    path = program if os.sep in program else shutil.which(program, path=(env or os.environ).get("PATH"))
    try:
        with open(path or program, "rb") as file:
            first_line = file.read(256).split(b"\n", 1)[0]
    except OSError:
        return True  # cannot tell: count it
    return not first_line.startswith(b"#!") or b"python" in first_line


def _module(words: Sequence[str]) -> str | None:
    """The module of ``python -m <module>``."""
    if "-m" in words[:-1]:
        return words[words.index("-m") + 1]
    return None


class Guard:
    """Records which kinds of process the running test started (directly, or as a child's child)."""

    def __init__(self) -> None:
        self.test: str | None = None
        self.allowed: frozenset[str] = frozenset()
        self.seen: dict[str, str] = {}
        """kind -> the command line that showed it, for the running test."""
        self.since = 0.0
        self.earlier_threads: set[int | None] = set()
        """Threads an earlier test or the session left running: what they start is not the running test's."""
        self._lock = threading.Lock()
        self._sampler: threading.Thread | None = None
        self._stop = threading.Event()

    # -- the running test -----------------------------------------------------------------------------------------
    def begin(self, test: str, markers: set[str]) -> None:
        with self._lock:
            self.test, self.allowed, self.seen = test, frozenset(markers & set(TIER_MARKERS)), {}
            self.since = time.time() - 0.05  # process start times are kept in clock ticks
            self.earlier_threads = {t.ident for t in threading.enumerate()} - {threading.main_thread().ident}
            self._stop.clear()

    def end(self) -> dict[str, str]:
        """Stop watching; what the test started that it is not marked for."""
        self._stop.set()
        sampler, self._sampler = self._sampler, None
        if sampler is not None:
            sampler.join(timeout=5)
        with self._lock:
            self.test = None
            return {kind: cmd for kind, cmd in self.seen.items() if kind not in self.allowed}

    @property
    def fast(self) -> bool:
        """True when the running test is in the fast tier (none of the markers)."""
        return not self.allowed

    # -- what it starts -----------------------------------------------------------------------------------------------
    def audit(self, event: str, args: tuple[object, ...]) -> None:
        """``sys.addaudithook`` callback: refuse a process of a kind a fast-tier test is not marked for."""
        if event != "subprocess.Popen" or self.test is None or threading.get_ident() in self.earlier_threads:
            return
        argv = args[1]
        words = [str(a) for a in argv] if isinstance(argv, (list, tuple)) else [str(argv)]
        env = args[3] if isinstance(args[3], Mapping) else None
        kind = kind_of(words, env)
        if kind is not None:
            self._note(kind, words)
            if self.fast:
                raise TierViolation(unmarked(self.test, {kind: " ".join(words)}))
        self._start_sampler()

    def _note(self, kind: str, words: Sequence[str]) -> None:
        with self._lock:
            self.seen.setdefault(kind, " ".join(words)[:300])

    def _start_sampler(self) -> None:
        """Watch the test's descendants while it runs: a CLI run in a child starts dbt in a grandchild."""
        with self._lock:
            if self._sampler is not None or self.test is None:
                return
            self._sampler = threading.Thread(target=self._sample, name="tier-guard", daemon=True)
            self._sampler.start()

    def _sample(self) -> None:
        me = psutil.Process()
        known: set[int] = set()
        while not self._stop.wait(0.1):
            with contextlib.suppress(psutil.Error):
                for child in me.children(recursive=True):
                    if child.pid in known:
                        continue
                    known.add(child.pid)
                    with contextlib.suppress(psutil.Error):
                        if child.create_time() < self.since:
                            continue  # a session server, a worker an earlier test left behind
                        argv = child.cmdline()
                        env = {"PYTHONPATH": child.environ().get("PYTHONPATH", "")}
                        kind = kind_of(argv, env)
                        if kind is not None:
                            self._note(kind, argv)


class TierViolation(Exception):
    """A fast-tier test started dbt, a server or a venv."""


def unmarked(test: str, found: Mapping[str, str]) -> str:
    kinds = sorted(found)
    lines = [f"{test} is not marked {' / '.join(kinds)} but started:"]
    lines += [f"  {kind}: {command}" for kind, command in sorted(found.items())]
    lines.append("Add the module (or a fixture it uses) to MODULE_MARKERS / FIXTURE_MARKERS in tests/tiers.py, "
                 f"or mark the test @pytest.mark.{kinds[0]}.")
    return "\n".join(lines)


GUARD = Guard()
sys.addaudithook(GUARD.audit)  # audit hooks cannot be removed; it only acts while a test runs
