"""list / remove / prune, in the library and on the command line, on real venvs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from dbt_kickoff.cli.main import main
from dbt_kickoff.environments.cache import MARKER, list_venvs, prune_venvs, remove_venv
from dbt_kickoff.environments.venv import Venv
from dbt_kickoff.errors import ConfigurationError, PrerequisitesException
from tests.environments.conftest import cache_entries

pytestmark = pytest.mark.slow
DAY = 86400


@pytest.fixture
def cache(tmp_path: Path, duckdb_venv: Venv) -> Path:
    """A cache folder with real venvs: copies of the session venv (uv venvs are relocatable)."""
    root = tmp_path / "venvs"
    for key in ("aaaa", "bbbb", "cccc"):
        _clone(duckdb_venv.path, root / key)
    return root


def _clone(source: Path, target: Path) -> None:
    """A hard-linked copy (fast); its marker and last-used stamp are its own files."""
    shutil.copytree(source, target, symlinks=True, copy_function=os.link)
    for name in (MARKER, ".last-used"):
        content = (target / name).read_bytes()
        (target / name).unlink()
        (target / name).write_bytes(content)


def _age(venv: Path, days: float) -> None:
    stamp = time.time() - days * DAY
    os.utime(venv / ".last-used", (stamp, stamp))


@contextmanager
def lock_held_elsewhere(root: Path, key: str) -> Iterator[None]:
    """Another process holds the venv's lock (as a concurrent build would)."""
    code = (
        "import sys; from filelock import FileLock; lock = FileLock(sys.argv[1]); lock.acquire(); "
        "print('held', flush=True); sys.stdin.read()"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(root / f"{key}.lock")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield
    finally:
        holder.communicate("")


def test_list_shows_finished_and_unfinished_least_recently_used_first(cache: Path) -> None:
    (cache / "cccc" / MARKER).unlink()
    _age(cache / "bbbb", 3)
    listed = list_venvs(cache, with_size=True)
    assert listed[0].key == "bbbb"
    by_key = {venv.key: venv for venv in listed}
    assert by_key["aaaa"].complete and not by_key["cccc"].complete
    assert by_key["aaaa"].requirements == ("dbt-core<1.12,>=1.10", "dbt-duckdb")
    assert by_key["aaaa"].dbt_version.startswith("1.1") and by_key["aaaa"].size_bytes > 1_000_000


def test_prune_removes_old_unfinished_and_leftovers_but_not_locked_or_fresh(cache: Path) -> None:
    _age(cache / "aaaa", 40)
    _age(cache / "bbbb", 40)
    (cache / "cccc" / MARKER).unlink()  # unfinished: always garbage
    leftover = cache / ".tmp-dddd-1234"
    leftover.mkdir()
    _clone(cache / "aaaa", cache / "eeee")  # fresh
    with lock_held_elsewhere(cache, "bbbb"):
        removed = prune_venvs(30, cache)
    assert sorted(path.name for path in removed) == [".tmp-dddd-1234", "aaaa", "cccc"]
    assert cache_entries(cache) == ["bbbb", "eeee"]
    assert "installed:" in Venv.restore(cache / "eeee").run_command("dbt", "--version")


def test_remove_by_key_and_path_refuses_while_locked(cache: Path) -> None:
    assert remove_venv("aaaa", cache) == cache / "aaaa"
    assert remove_venv(cache / "bbbb") == cache / "bbbb"
    with lock_held_elsewhere(cache, "cccc"), pytest.raises(PrerequisitesException, match="another process"):
        remove_venv("cccc", cache)
    assert cache_entries(cache) == ["cccc"]
    with pytest.raises(ConfigurationError, match="venv list"):
        remove_venv("zzzz", cache)
    with pytest.raises(ConfigurationError, match="older_than_days"):
        prune_venvs(-1, cache)


def test_markers_written_before_v2_support_are_v1_venvs(cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    marker = json.loads((cache / "aaaa" / MARKER).read_text())
    assert marker["engine"] == "v1" and marker["engine_version"] == ""
    del marker["engine"], marker["engine_version"]
    (cache / "aaaa" / MARKER).write_text(json.dumps(marker))
    listed = {venv.key: venv for venv in list_venvs(cache)}
    assert listed["aaaa"].complete and listed["aaaa"].engine == "v1"
    assert Venv.restore(cache / "aaaa").environment.engine == "worker"
    assert main(["venv", "list", "--venv-dir", str(cache)]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("aaaa"))
    assert f"v1 worker dbt-core {listed['aaaa'].dbt_version}" in line


def test_cli_list_create_remove_prune(
    cache: Path, venv_root: Path, duckdb_venv: Venv, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["venv", "create", "duckdb", "--venv-dir", str(venv_root), "--json"]) == 0
    created = json.loads(capsys.readouterr().out)
    assert created["path"] == str(duckdb_venv.path) and created["dbt_version"] == duckdb_venv.dbt_version

    assert main(["venv", "list", "--venv-dir", str(cache), "--json"]) == 0
    assert {entry["key"] for entry in json.loads(capsys.readouterr().out)} == {"aaaa", "bbbb", "cccc"}

    assert main(["venv", "remove", "aaaa", "--venv-dir", str(cache)]) == 0
    assert "removed" in capsys.readouterr().out
    _age(cache / "bbbb", 10)
    assert main(["venv", "prune", "--older-than-days", "5", "--venv-dir", str(cache), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"removed": [str(cache / "bbbb")]}

    assert main(["venv", "list", "--venv-dir", str(cache)]) == 0
    assert "cccc" in capsys.readouterr().out

    assert main(["venv", "create", "--adapter", "nosuch", "--venv-dir", str(cache)]) == 2
    assert "unknown dbt adapter 'nosuch'" in capsys.readouterr().err


@contextmanager
def used_elsewhere(venv: Path) -> Iterator[None]:
    """Another process runs from the venv and holds it with Venv.in_use()."""
    code = (
        "import sys; from dbt_kickoff.environments.venv import Venv\n"
        "with Venv.restore(sys.argv[1]).in_use():\n    print('held', flush=True); sys.stdin.read()"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(venv)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield
    finally:
        holder.communicate("")


def test_a_venv_in_use_is_neither_removed_nor_pruned(cache: Path) -> None:
    _age(cache / "aaaa", 40)
    with used_elsewhere(cache / "aaaa"), Venv.restore(cache / "aaaa").in_use():  # two holders at once
        with pytest.raises(PrerequisitesException, match="used"):
            remove_venv("aaaa", cache)
        _age(cache / "aaaa", 40)
        assert prune_venvs(30, cache) == []
    assert remove_venv("aaaa", cache) == cache / "aaaa"  # released: now it goes
    broken = Venv.restore(cache / "bbbb")
    shutil.rmtree(cache / "bbbb" / "lib")
    with pytest.raises(PrerequisitesException, match="removed or broken"), broken.in_use():
        pass
