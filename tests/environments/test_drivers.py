"""The drivers folder of the dbt v2 engine reaches its process as ADBC_DRIVER_PATH (in front of an inherited one)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dbt_kickoff.engines import dbt_process_env
from dbt_kickoff.environments import DbtEnvironment
from dbt_kickoff.environments.drivers import check_drivers_folder


def _v2(drivers: Path | None) -> DbtEnvironment:
    return DbtEnvironment(python=None, dbt_executable=Path("/opt/dbt"), engine="subprocess", exit_codes="v2",
                          drivers=drivers)


def test_the_folder_goes_in_front_of_the_inherited_search_path(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "libduckdb.so").write_bytes(b"")
    folder = check_drivers_folder(tmp_path)
    monkeypatch.setenv("ADBC_DRIVER_PATH", "/etc/site-drivers")
    assert dbt_process_env(_v2(folder), {})["ADBC_DRIVER_PATH"] == f"{tmp_path}{os.pathsep}/etc/site-drivers"
    assert dbt_process_env(_v2(None), {})["ADBC_DRIVER_PATH"] == "/etc/site-drivers"  # passed through
    monkeypatch.delenv("ADBC_DRIVER_PATH")
    assert dbt_process_env(_v2(folder), {})["ADBC_DRIVER_PATH"] == str(tmp_path)
    assert "ADBC_DRIVER_PATH" not in dbt_process_env(_v2(None), {})
    assert "ADBC_DRIVER_PATH" not in os.environ  # the host's environment is not changed


def test_a_driver_manifest_counts_and_the_folder_is_made_absolute(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "duckdb.toml").write_text("name = 'duckdb'\n")
    monkeypatch.chdir(tmp_path.parent)
    assert check_drivers_folder(tmp_path.name) == tmp_path
