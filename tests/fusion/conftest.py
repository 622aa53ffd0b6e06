"""Fixtures for real dbt v2 (dbt Fusion) runs on the tests' PostgreSQL server and on DuckDB, offline.

``fusion_postgres_driver`` and ``fusion_duckdb_drivers`` are TEST-ONLY provisioning: dbt v2 downloads its ADBC
database drivers on first use, which fails offline, so the tests install the PostgreSQL ADBC driver from the
package index (``adbc-driver-postgresql``) into a private cache folder under the file name this v2 release
looks for, and take DuckDB's ``libduckdb.so`` out of its npm package into a folder given to v2 as
``drivers=``. dbt-kickoff itself never downloads, renames or plants drivers (it says what to do when one is
missing).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.fusion.driver import FUSION_VERSION, provision_duckdb_driver, provision_postgres_driver, supported

from dbt_kickoff.environments.venv import Venv, get_venv

PACKAGE = Path(__file__).with_name("package")


@pytest.fixture(scope="session")
def fusion_venv() -> Venv:
    """The dbt v2 engine in the default venv cache (so it is reused between test runs, as for a user)."""
    if not supported():
        pytest.skip("the tests' dbt v2 driver provisioning is written for x86_64 Linux")
    return get_venv("postgres", dbt_version=FUSION_VERSION)


@pytest.fixture(scope="session")
def fusion_postgres_driver(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """TEST ONLY: a cache home (for ``XDG_CACHE_HOME``) holding dbt v2's PostgreSQL ADBC driver, installed from
    the package index (``adbc-driver-postgresql``) and copied to ``com.getdbt/adbc/<platform>/<file>``."""
    if not supported():
        pytest.skip("the tests' dbt v2 driver provisioning is written for x86_64 Linux")
    cache_home = tmp_path_factory.mktemp("fusion-cache-home")
    provision_postgres_driver(cache_home)
    return cache_home


@pytest.fixture(scope="session")
def fusion_duckdb_drivers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """TEST ONLY: a folder holding ``libduckdb.so`` from the npm package ``@duckdb/node-bindings-linux-x64``
    (once per session), for ``get_venv(..., drivers=folder)`` or ``ADBC_DRIVER_PATH``."""
    if not supported():
        pytest.skip("the tests' dbt v2 driver provisioning is written for x86_64 Linux")
    if shutil.which("npm") is None:
        pytest.skip("npm is missing: the tests take dbt v2's DuckDB driver from an npm package")
    folder = tmp_path_factory.mktemp("fusion-duckdb-drivers")
    provision_duckdb_driver(folder)
    return folder


@pytest.fixture
def isolated_driver_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache home for dbt v2 and no inherited ``ADBC_DRIVER_PATH``: v2 finds only what the test gives.
    (The default venv cache moves with ``XDG_CACHE_HOME``: pass ``venv_dir=fusion_venv.path.parent``.)"""
    cache_home = tmp_path / "empty-cache-home"
    cache_home.mkdir()
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache_home))
    monkeypatch.delenv("ADBC_DRIVER_PATH", raising=False)
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
