"""Fixtures for real dbt v2 (dbt Fusion) runs on the tests' PostgreSQL server, offline.

``fusion_postgres_driver`` is TEST-ONLY provisioning: dbt v2 downloads its ADBC database driver on first use,
which fails offline, so the tests install the PostgreSQL ADBC driver from the package index
(``adbc-driver-postgresql``) and copy it into a private cache folder under the file name this v2 release looks
for. dbt-kickoff itself never renames or plants drivers (it says what to do when one is missing).
"""

from __future__ import annotations

import platform
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dbt_kickoff.environments.installer import find_uv
from dbt_kickoff.environments.venv import Venv, get_venv

FUSION_VERSION = "2.0.0rc196"
"""The dbt v2 release the tests run (``dbt-fusion 2.0.0-preview.196``); pinned because the driver file name
below is the one this release looks for."""
FUSION_POSTGRES_DRIVER_FILE = "libadbc_driver_postgresql-0.21.0+dbt0.21.0.so"
PACKAGE = Path(__file__).with_name("package")


@pytest.fixture(scope="session")
def fusion_venv() -> Venv:
    """The dbt v2 engine in the default venv cache (so it is reused between test runs, as for a user)."""
    if sys.platform != "linux" or platform.machine() != "x86_64":
        pytest.skip("the tests' dbt v2 driver provisioning is written for x86_64 Linux")
    return get_venv("postgres", dbt_version=FUSION_VERSION)


@pytest.fixture(scope="session")
def fusion_postgres_driver(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """TEST ONLY: a cache home (for ``XDG_CACHE_HOME``) holding dbt v2's PostgreSQL ADBC driver, installed from
    the package index (``adbc-driver-postgresql``) and copied to ``com.getdbt/adbc/<platform>/<file>``."""
    if sys.platform != "linux" or platform.machine() != "x86_64":
        pytest.skip("the tests' dbt v2 driver provisioning is written for x86_64 Linux")
    uv = find_uv()
    assert uv is not None, "the uv package is a dependency of dbt-kickoff"
    wheel_dir = tmp_path_factory.mktemp("adbc-postgresql")
    subprocess.run(
        [str(uv), "pip", "install", "--quiet", "--no-deps", "--target", str(wheel_dir), "adbc-driver-postgresql"],
        check=True, capture_output=True,
    )
    library = wheel_dir / "adbc_driver_postgresql" / "libadbc_driver_postgresql.so"
    cache_home = tmp_path_factory.mktemp("fusion-cache-home")
    folder = cache_home / "com.getdbt" / "adbc" / f"{platform.machine()}-manylinux_2_17-linux-gnu"
    folder.mkdir(parents=True)
    shutil.copyfile(library, folder / FUSION_POSTGRES_DRIVER_FILE)
    return cache_home


@pytest.fixture
def fusion_env(fusion_venv: Venv, fusion_postgres_driver: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Venv]:
    """dbt v2 ready to run on PostgreSQL: the driver cache and the opt-in to its experimental adapter, in the
    environment dbt inherits (this test only). Yields the v2 venv."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(fusion_postgres_driver))
    monkeypatch.setenv("DBT_ALLOW_EXPERIMENTAL_ADAPTERS", "true")
    yield fusion_venv


@pytest.fixture
def package_copy(tmp_path: Path) -> Path:
    """A private copy of the small package both engines accept (tests may break it)."""
    return Path(shutil.copytree(PACKAGE, tmp_path / "package"))
