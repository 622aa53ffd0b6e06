"""One home per mechanism: child environments (``processes.child_environment``), masking (``redaction``) and
atomic writes (``atomic.write_atomically``) behave the same wherever they are used (venvs, the installer, the
dbt executable probe, record refs, the HTML report, dbt Cloud credentials)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from dbt_kickoff.atomic import write_atomically
from dbt_kickoff.cloud import DbtCloudCredentials
from dbt_kickoff.environments.installer import install_error
from dbt_kickoff.environments.venv import Venv
from dbt_kickoff.records.reading import Record
from dbt_kickoff.records.store import RecordStore
from dbt_kickoff.report import write_html

RECORD = "20260105T093000Z-01234567-89ab-cdef-0123-456789abcdef"


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.mark.usefixtures("umask_022")
def test_an_atomic_write_is_private_unless_it_is_meant_to_be_shared(tmp_path: Path) -> None:
    private = write_atomically(tmp_path / "state.json", "{}")
    shared = write_atomically(tmp_path / "shared.txt", "hello", private=False)
    assert mode(private) == 0o600
    assert mode(shared) == 0o644  # what a plain new file gets under this umask
    assert shared.read_text() == "hello" and leftovers(tmp_path) == []


@pytest.mark.usefixtures("umask_022")
def test_a_record_ref_is_written_atomically(tmp_path: Path) -> None:
    store = RecordStore(tmp_path)
    store.write_ref("last-success-abc", RECORD)
    store.write_ref("last-success-abc", RECORD)  # overwritten in place
    assert store.read_ref("last-success-abc") == RECORD
    assert store.refs() == {"last-success-abc": RECORD}
    assert leftovers(tmp_path / "refs") == []
    assert mode(tmp_path / "refs" / "last-success-abc") == 0o644


@pytest.mark.usefixtures("umask_022")
def test_the_html_report_is_written_whole_and_readable(tmp_path: Path) -> None:
    record = Record(RECORD, RecordStore(tmp_path / "records"), {})
    output = write_html(record, tmp_path / "out" / "report.html")
    assert output.read_text().lstrip().lower().startswith("<!doctype html")
    assert mode(output) == 0o644 and leftovers(output.parent) == []


def test_a_venv_child_environment_drops_the_host_python_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"):
        monkeypatch.setenv(name, f"/host/{name.lower()}")
    monkeypatch.setenv("KEPT_BY_THE_CHILD", "yes")
    venv = Venv(path=tmp_path / "v", python=tmp_path / "v" / "bin" / "python", requirements=(), dbt_version="1.11.0",
                key="k")
    env = venv.run_env({"EXTRA": "1"})
    assert "PYTHONPATH" not in env and "PYTHONHOME" not in env
    assert env["VIRTUAL_ENV"] == str(venv.path)
    assert env["PATH"].split(os.pathsep)[0] == str(venv.bin_dir)
    assert env["KEPT_BY_THE_CHILD"] == "yes" and env["EXTRA"] == "1"
    assert os.environ["PYTHONPATH"] == "/host/pythonpath"  # the host's own is untouched


def test_an_install_error_masks_the_index_credentials() -> None:
    output = ("error: Failed to fetch: `https://build:s3cr3t-Index-Token@pypi.example/simple/dbt-core/`\n"
              "Because dbt-core==9.9 was not found and you require dbt-core==9.9, we can conclude...")
    error = install_error("installing dbt", ["dbt-core==9.9"], output, ["s3cr3t-Index-Token"])
    assert "s3cr3t-Index-Token" not in str(error)
    assert "***" in str(error) and "dbt-core==9.9" in str(error)


def test_dbt_cloud_credentials_show_the_mask_not_the_token() -> None:
    credentials = DbtCloudCredentials(api_token="dbtc_Never-Shown-8812", account_id=1)
    assert "dbtc_Never-Shown-8812" not in repr(credentials) + str(credentials)
    assert "api_token='***'" in repr(credentials)
