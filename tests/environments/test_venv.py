"""Real venvs built with uv (and once with pip) in a per-session cache folder."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from dbt_kickoff.environments.cache import MARKER, Marker
from dbt_kickoff.environments.venv import Venv, get_venv
from dbt_kickoff.errors import PrerequisitesException
from tests.environments.conftest import cache_entries, processes_started

pytestmark = pytest.mark.slow


def test_new_venv_has_dbt_and_the_adapter(duckdb_venv: Venv) -> None:
    assert duckdb_venv.python.is_file()
    assert duckdb_venv.requirements == ("dbt-core<1.12,>=1.10", "dbt-duckdb")
    installed = dict(duckdb_venv.installed)
    assert installed["dbt-core"] == duckdb_venv.dbt_version
    assert duckdb_venv.dbt_version.startswith(("1.10.", "1.11."))
    probe = duckdb_venv.run_module("dbt.cli.main", "--version")  # the venv's own dbt, not the host's
    assert f"installed: {duckdb_venv.dbt_version}" in probe
    assert "duckdb" in probe
    where = duckdb_venv.run_module("site")
    assert str(duckdb_venv.path) in where and str(Path(sys.prefix)) not in where


def test_environment_plugs_into_the_engines(duckdb_venv: Venv) -> None:
    environment = duckdb_venv.environment
    assert environment.python == duckdb_venv.python
    assert environment.engine == "worker" and environment.exit_codes == "v1"
    assert duckdb_venv.dbt_version in environment.description
    # the dbt script still works after the venv was renamed into place
    assert duckdb_venv.dbt_version in duckdb_venv.run_command("dbt", "--version")


def test_reuse_starts_no_process_and_records_use(duckdb_venv: Venv, venv_root: Path) -> None:
    last_used = duckdb_venv.path / ".last-used"
    os.utime(last_used, (1_000_000, 1_000_000))
    with processes_started() as started:
        again = get_venv("duckdb:///anything.duckdb", venv_dir=venv_root)
    assert started == []
    assert again == duckdb_venv
    assert last_used.stat().st_mtime > 1_000_000


def test_same_interpreter_given_explicitly_shares_the_venv(duckdb_venv: Venv, venv_root: Path) -> None:
    assert get_venv(adapters="duckdb", python=sys.executable, venv_dir=venv_root) == duckdb_venv


def test_dlt_style_call_keeps_the_venv_in_the_pipeline_working_dir(tmp_path: Path, duckdb_venv: Venv) -> None:
    dlt = pytest.importorskip("dlt")
    pipeline = dlt.pipeline(pipeline_name="p", destination="duckdb", dataset_name="d", pipelines_dir=str(tmp_path))
    expected = Path(pipeline.working_dir) / "dbt" / duckdb_venv.key
    shutil.copytree(duckdb_venv.path, expected, symlinks=True, copy_function=os.link)  # as if built there before
    with processes_started() as started:
        venv = get_venv(pipeline, venv_path="dbt", dbt_version=None)  # dlt.dbt.get_venv's keywords
    assert venv.path == expected and started == []


def test_broken_venv_is_rebuilt(venv_root: Path, tmp_path: Path) -> None:
    (tmp_path / "probe.py").write_text("import dbt.version; print(dbt.version.__version__, end='')")
    venv = get_venv(adapters=["duckdb"], dbt_version="1.11.*", venv_dir=venv_root)
    created = Marker.read(venv.path).created_at  # type: ignore[union-attr]
    site_packages = venv.path / Marker.read(venv.path).site_packages  # type: ignore[union-attr]
    shutil.rmtree(site_packages / "dbt")  # dbt gone: the cheap check notices
    assert not venv.exists()
    rebuilt = get_venv(adapters=["duckdb"], dbt_version="1.11.*", venv_dir=venv_root)
    assert rebuilt.path == venv.path and rebuilt.exists()
    assert Marker.read(rebuilt.path).created_at > created  # type: ignore[union-attr]
    assert rebuilt.run_script(tmp_path / "probe.py") == rebuilt.dbt_version


def test_folder_without_marker_is_garbage(venv_root: Path, duckdb_venv: Venv) -> None:
    """A crash after the install but before the marker: the folder must not count as a venv."""
    key = duckdb_venv.key
    (duckdb_venv.path / MARKER).unlink()
    leftover = venv_root / f".tmp-{key}-deadbeef"
    leftover.mkdir()
    (leftover / "pyvenv.cfg").write_text("home = /nowhere\n")
    with pytest.raises(PrerequisitesException, match="not a finished dbt venv"):
        Venv.restore(duckdb_venv.path)
    rebuilt = get_venv(adapters=["duckdb"], venv_dir=venv_root)
    assert rebuilt.path == duckdb_venv.path and rebuilt.exists()
    assert not leftover.exists()
    assert all(not name.startswith(".tmp-") for name in cache_entries(venv_root))


def test_pip_fallback_and_a_firewalled_install_from_a_wheel_folder(tmp_path: Path, venv_root: Path) -> None:
    """installer="pip": stdlib venv + pip. Then its pip downloads the wheels into a folder, and uv installs
    from that folder alone (no_index=True, find_links=...), as a firewalled user would."""
    with processes_started() as started:
        venv = get_venv(adapters=["duckdb"], dbt_version=">=1.11,<1.12", venv_dir=venv_root, installer="pip")
    assert started and not any(Path(argv[0]).name.startswith("uv") for argv in started)
    assert json.loads((venv.path / MARKER).read_text())["installer"] == "pip"
    assert f"installed: {venv.dbt_version}" in venv.run_command("dbt", "--version")

    wheels = tmp_path / "wheels"
    pins = [f"{name}=={version}" for name, version in venv.installed]
    venv.run_module("pip", "download", "--quiet", "--dest", str(wheels), *pins)
    offline = get_venv(
        adapters=["duckdb"], dbt_version=">=1.11,<1.12", venv_dir=venv_root, no_index=True, find_links=wheels
    )
    assert offline.path != venv.path  # index options are part of the key
    assert dict(offline.installed) == dict(venv.installed)
