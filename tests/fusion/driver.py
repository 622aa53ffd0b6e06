"""TEST-ONLY provisioning of dbt v2's database drivers, shared by tests/fusion/ and bench/bench_fusion.py.

dbt v2 downloads its ADBC drivers on first use, which fails offline. PostgreSQL's is loaded from
``$XDG_CACHE_HOME/com.getdbt/adbc/<platform>/`` (``~/.cache`` by default) only: this installs
``adbc-driver-postgresql`` from the package index and copies its library into a private cache home under the
file name the pinned v2 release looks for. DuckDB's is found by name in the folders of ``ADBC_DRIVER_PATH``:
this takes ``libduckdb.so`` out of the npm package ``@duckdb/node-bindings-linux-x64`` into a folder, which the
tests pass as ``get_venv(..., drivers=folder)`` or ``ADBC_DRIVER_PATH``. dbt-kickoff's own code never does this.
"""

from __future__ import annotations

import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from dbt_kickoff.environments.installer import find_uv

FUSION_VERSION = "2.0.0rc196"
"""The dbt v2 release the tests run (``dbt-fusion 2.0.0-preview.196``); pinned because the driver file name
below is the one this release looks for."""
FUSION_POSTGRES_DRIVER_FILE = "libadbc_driver_postgresql-0.21.0+dbt0.21.0.so"
DUCKDB_DRIVER_PACKAGE = "@duckdb/node-bindings-linux-x64@1.5.6-r.1"
"""The npm package carrying ``libduckdb.so`` (DuckDB 1.5.6; this v2 release downloads DuckDB 1.5.4's)."""


def supported() -> bool:
    """The driver's platform folder below is written for x86_64 Linux."""
    return sys.platform == "linux" and platform.machine() == "x86_64"


def provision_postgres_driver(cache_home: Path) -> Path:
    """Put the PostgreSQL ADBC driver into ``cache_home`` (use it as ``XDG_CACHE_HOME``); returns the file."""
    uv = find_uv()
    if uv is None:
        raise RuntimeError("the uv binary is missing (`pip install uv`)")
    folder = cache_home / "com.getdbt" / "adbc" / f"{platform.machine()}-manylinux_2_17-linux-gnu"
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="adbc-postgresql-") as wheel_dir:
        subprocess.run(
            [str(uv), "pip", "install", "--quiet", "--no-deps", "--target", wheel_dir, "adbc-driver-postgresql"],
            check=True, capture_output=True,
        )
        library = Path(wheel_dir) / "adbc_driver_postgresql" / "libadbc_driver_postgresql.so"
        shutil.copyfile(library, folder / FUSION_POSTGRES_DRIVER_FILE)
    return folder / FUSION_POSTGRES_DRIVER_FILE


def provision_duckdb_driver(folder: Path) -> Path:
    """Put ``libduckdb.so`` from the npm package into ``folder`` (use it as ``drivers=``); returns the file."""
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is missing: the DuckDB driver for dbt v2 comes from an npm package")
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="duckdb-npm-") as scratch:
        done = subprocess.run(
            [npm, "pack", DUCKDB_DRIVER_PACKAGE, "--pack-destination", scratch, "--silent"],
            check=True, capture_output=True, text=True, cwd=scratch,
        )
        archive = Path(scratch) / done.stdout.strip().splitlines()[-1]
        with tarfile.open(archive) as tar:
            member = tar.extractfile("package/libduckdb.so")
            if member is None:
                raise RuntimeError(f"{DUCKDB_DRIVER_PACKAGE} holds no package/libduckdb.so")
            with member, (folder / "libduckdb.so").open("wb") as library:
                shutil.copyfileobj(member, library)
    return folder / "libduckdb.so"
