"""Each bad input gets a clear typed error, and nothing half-built stays in the cache."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from dbt_kickoff.autofix import AUTOFIX_REQUIREMENT
from dbt_kickoff.environments.venv import get_venv, tool_venv
from dbt_kickoff.errors import ConfigurationError, PrerequisitesException
from tests.environments.conftest import cache_entries, processes_started


def _closed_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unknown_adapter(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="unknown dbt adapter 'duckdbx'"):
        get_venv(adapters=["duckdbx"], venv_dir=tmp_path)
    assert cache_entries(tmp_path) == []


def test_invalid_version_specifier(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"dbt_version='>=1\.10;<1\.12'"):
        get_venv(adapters=["duckdb"], dbt_version=">=1.10;<1.12", venv_dir=tmp_path)


def test_bad_installer_and_python(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="installer must be"):
        get_venv(adapters=["duckdb"], venv_dir=tmp_path, installer="conda")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="not an interpreter file"):
        get_venv(adapters=["duckdb"], venv_dir=tmp_path, python=tmp_path / "python9")
    with pytest.raises(ConfigurationError, match="find_links folder"):
        get_venv(adapters=["duckdb"], venv_dir=tmp_path, find_links=tmp_path / "no-wheels-here")


@pytest.mark.parametrize("dbt_version", ["==0.0.1", ">=99"])
def test_unsatisfiable_version_names_dbt_core_and_how_to_pin(tmp_path: Path, dbt_version: str) -> None:
    with pytest.raises(PrerequisitesException) as info:
        get_venv(adapters=["duckdb"], dbt_version=dbt_version, venv_dir=tmp_path)
    message = str(info.value)
    assert f"failed requirement: dbt-core{dbt_version}" in message
    assert 'dbt_version="1.11.*"' in message and "no_index" in message
    assert cache_entries(tmp_path) == []


def test_package_not_found_names_it(tmp_path: Path) -> None:
    with pytest.raises(PrerequisitesException, match="failed requirement: dbt-no-such-adapter-kickoff"):
        get_venv(adapters=["dbt-no-such-adapter-kickoff"], venv_dir=tmp_path)
    assert cache_entries(tmp_path) == []


@pytest.mark.parametrize("userinfo", ["mirror-user:idx-s3cret", "idx-s3cret-token"])
def test_unreachable_index_says_so_and_never_shows_its_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, userinfo: str
) -> None:
    monkeypatch.setenv("UV_HTTP_RETRIES", "0")  # fail at once instead of retrying the closed port
    index = f"http://{userinfo}@127.0.0.1:{_closed_loopback_port()}/simple"
    with processes_started() as started, pytest.raises(PrerequisitesException) as info:
        get_venv(adapters=["duckdb"], venv_dir=tmp_path / "cache", index_url=index)
    assert started and all("idx-s3cret" not in " ".join(argv) for argv in started)  # never in argv
    message = str(info.value)
    assert "cannot be reached" in message and "failed requirement: dbt-" in message
    assert "idx-s3cret" not in message and "idx-s3cret" not in repr(info.value)
    chained: BaseException | None = info.value
    while chained is not None:
        assert "idx-s3cret" not in str(chained)
        chained = chained.__cause__ or chained.__context__
    leftovers = [p for p in (tmp_path / "cache").rglob("*") if p.is_file() and "idx-s3cret" in p.read_text("latin-1")]
    assert leftovers == [] and cache_entries(tmp_path / "cache") == []


def test_no_index_with_an_empty_wheel_folder(tmp_path: Path) -> None:
    empty = tmp_path / "wheels"
    empty.mkdir()
    with pytest.raises(PrerequisitesException, match=r"failed requirement: dbt-core<1\.12,>=1\.10") as info:
        get_venv(adapters=["duckdb"], venv_dir=tmp_path / "cache", no_index=True, find_links=empty)
    assert "find_links=" in str(info.value)
    assert cache_entries(tmp_path / "cache") == []


def test_cache_folder_under_a_regular_file(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with pytest.raises(ConfigurationError, match=r"cannot be used.*pass venv_dir= a writable folder"):
        get_venv(adapters=["duckdb"], venv_dir=blocker / "venvs")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can write to a read-only folder")
def test_read_only_cache_folder(tmp_path: Path) -> None:
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(ConfigurationError, match="cannot be used"):
            get_venv(adapters=["duckdb"], venv_dir=tmp_path)
    finally:
        tmp_path.chmod(0o700)


def test_drivers_folder_is_checked_before_anything_is_built(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    empty = tmp_path / "empty"
    empty.mkdir()
    a_file = tmp_path / "libduckdb.so"
    a_file.write_bytes(b"")
    for folder, problem in [(tmp_path / "missing", "does not exist"), (a_file, "is not a folder"),
                            (empty, "holds no driver")]:
        with processes_started() as started, pytest.raises(ConfigurationError, match=problem) as info:
            get_venv("duckdb", dbt_version="fusion", drivers=folder, venv_dir=cache)
        assert "libduckdb.so" in str(info.value) and "@duckdb/node-bindings-" in str(info.value)
        assert started == []
    with pytest.raises(ConfigurationError, match="drivers must be a folder path"):
        get_venv("duckdb", dbt_version="fusion", drivers=3, venv_dir=cache)  # type: ignore[arg-type]
    (empty / "libduckdb.so").write_bytes(b"")
    with pytest.raises(ConfigurationError, match="drivers= is for the dbt v2 engine"):
        get_venv("duckdb", dbt_version="1.11.*", drivers=empty, venv_dir=cache)
    assert cache_entries(cache) == []


def test_a_tool_that_cannot_be_installed_offline_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UV_HTTP_RETRIES", "0")
    index = f"http://127.0.0.1:{_closed_loopback_port()}/simple"
    with pytest.raises(PrerequisitesException) as info:
        tool_venv(AUTOFIX_REQUIREMENT, venv_dir=tmp_path, index_url=index)
    message = str(info.value)
    assert "failed requirement: dbt-autofix" in message and "cannot be reached" in message
    assert "UV_INDEX_URL" in message and "find_links=" in message
    assert cache_entries(tmp_path) == []
