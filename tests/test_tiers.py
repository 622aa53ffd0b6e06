"""The test tiers' own rules (tests/tiers.py): which processes count as dbt, a server or a venv, which markers a
test gets, and that the guard refuses what a fast-tier test is not marked for."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

from dbt_kickoff.engines.base import worker_script_path
from tests.tiers import STUB_DBT, Guard, TierViolation, kind_of, markers_of

PY = sys.executable


@pytest.mark.parametrize(("argv", "kind"), [
    ([PY, "-X", "utf8", str(worker_script_path())], "dbt"),
    (["/venvs/v2/bin/dbt", "build", "--log-format", "json"], "dbt"),
    ([PY, "-c", "from dbt.cli.main import dbtRunner\n..."], "dbt"),
    ([PY, "-m", "dbt", "--version"], "dbt"),
    (["/usr/lib/postgresql/15/bin/pg_ctl", "-D", "/tmp/x", "start"], "server"),
    (["runuser", "-u", "postgres", "--", "/usr/lib/postgresql/15/bin/initdb", "-D", "/tmp/x"], "server"),
    ([PY, "-m", "moto.server", "-p", "5000"], "server"),
    (["/usr/sbin/sshd", "-D", "-e", "-f", "cfg"], "server"),
    (["git", "daemon", "--reuseaddr"], "server"),
    (["/venv/bin/uv", "venv", "--quiet", "/tmp/v"], "venv"),
    (["uv", "pip", "install", "--python", "/tmp/v/bin/python", "dbt-core"], "venv"),
    ([PY, "-m", "venv", "/tmp/v"], "venv"),
    (["/tmp/v/bin/python", "-m", "pip", "install", "dbt-duckdb"], "venv"),
    (["git", "clone", "--depth", "1", "file:///tmp/repo", "/tmp/out"], None),
    ([PY, "-m", "dbt_kickoff.cli.main", "cloud", "status", "1"], None),
    (["ssh-keygen", "-q", "-t", "ed25519"], None),
    (["uv", "pip", "list"], None),
    ([PY, "-c", "from dbt_kickoff.cloud.emulator import serve; serve(0)"], None),
    ([PY, "-c", "import sys\nimport dbt_kickoff\n"], None),
])
def test_what_each_process_counts_as(argv: list[str], kind: str | None) -> None:
    assert kind_of(argv) == kind


def test_a_worker_running_the_stub_dbt_is_not_dbt() -> None:
    argv = [PY, "-X", "utf8", str(worker_script_path())]
    assert kind_of(argv, {"PYTHONPATH": STUB_DBT}) is None
    assert kind_of(argv, {"PYTHONPATH": "/somewhere/else"}) == "dbt"


def test_a_shell_script_named_dbt_is_a_stand_in_not_dbt(tmp_path: Path) -> None:
    stand_in = tmp_path / "dbt"
    stand_in.write_text("#!/bin/sh\necho 'dbt-fusion 2.0.0-preview.170'\n")
    entry_point = tmp_path / "bin" / "dbt"
    entry_point.parent.mkdir()
    entry_point.write_text(f"#!{PY}\nfrom dbt.cli.main import cli\n")
    assert kind_of([str(stand_in), "--version"]) is None
    assert kind_of([str(entry_point), "--version"]) == "dbt"
    assert kind_of(["dbt", "--version"], {"PATH": str(tmp_path / "bin")}) == "dbt"


def test_markers_come_from_fixtures_and_modules() -> None:
    assert markers_of("cloud/test_runs.py", ["emulator", "tmp_path"]) == set()
    assert markers_of("profiles/test_dlt.py", ["postgres", "tmp_path"]) == {"server"}
    assert markers_of("environments/test_cache.py", ["venv_root", "cache"]) == {"venv"}
    assert markers_of("core/test_cycles.py", ["shop_duckdb"]) == {"dbt"}  # a folder that exists to run dbt
    assert markers_of("core/test_worker_protocol.py", ["engine"]) == set()  # its exception: the stub dbt
    assert markers_of("changed_core/test_changed_postgres.py", ["postgres"]) == {"dbt", "server"}
    assert markers_of("fake_calls/test_retry_steps.py", ["runner", "fake"]) == set()


def _popen(guard: Guard, argv: list[str]) -> None:
    guard.audit("subprocess.Popen", (argv[0], argv, None, None))


def test_the_guard_refuses_dbt_in_a_fast_test_and_names_the_marker() -> None:
    guard = Guard()
    guard.begin("tests/x.py::test_fast", set())
    with pytest.raises(TierViolation, match=r"test_fast is not marked dbt but started:\n  dbt: .*worker_script.py"):
        _popen(guard, [PY, str(worker_script_path())])
    _popen(guard, ["git", "status"])  # anything else is fine
    assert set(guard.end()) == {"dbt"}


def test_a_marked_test_may_start_its_kind_and_is_told_about_others() -> None:
    guard = Guard()
    guard.begin("tests/x.py::test_pg", {"server"})
    _popen(guard, ["pg_ctl", "start"])
    _popen(guard, [PY, str(worker_script_path())])  # not refused: the test is out of the fast tier anyway
    assert set(guard.end()) == {"dbt"}  # reported (a warning), the server is not


def test_nothing_is_watched_between_tests() -> None:
    guard = Guard()
    _popen(guard, ["pg_ctl", "stop"])  # a session fixture's teardown
    assert guard.end() == {}


def test_a_thread_an_earlier_test_left_running_is_not_the_running_tests() -> None:
    guard = Guard()
    leftover = threading.Event()
    started: list[BaseException] = []

    def earlier_test_thread() -> None:
        leftover.wait(5)
        try:
            _popen(guard, ["pg_ctl", "stop"])
        except BaseException as exc:  # the guard refusing it would land here
            started.append(exc)

    thread = threading.Thread(target=earlier_test_thread)
    thread.start()
    guard.begin("tests/x.py::test_fast", set())
    leftover.set()
    thread.join(5)
    assert started == [] and guard.end() == {}
