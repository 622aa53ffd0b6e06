"""Database drivers (ADBC) of the dbt v2 engine: where it looks for them, and the folder users point it at.

dbt v2 talks to databases through ADBC drivers, which it downloads from dbt Labs' servers on first use. Offline
(or behind a firewall) they must be on the machine beforehand. Measured with ``dbt 2.0.0-preview.196``:

- **DuckDB**: loaded by name through the ADBC driver manager, which looks in the folders of
  ``ADBC_DRIVER_PATH`` (``duckdb.toml``, ``libduckdb.so``; several folders separated by ``os.pathsep``),
  ``~/.config/adbc/drivers``, ``/etc/adbc/drivers`` and the library path, and in v2's download cache
  (``libadbc_driver_duckdb-1.5.4.so`` for 2.0.0-preview.196). ``libduckdb.so`` of DuckDB 1.5 works; it is in
  the npm package ``@duckdb/node-bindings-<platform>`` (``package/libduckdb.so``) and in DuckDB's
  ``libduckdb-<platform>.zip`` releases. ``get_venv(..., drivers=folder)`` passes the folder as
  ``ADBC_DRIVER_PATH`` (in front of one inherited from the environment).
- **PostgreSQL** (and the other adapters v2 downloads): loaded only from v2's cache,
  ``$XDG_CACHE_HOME/com.getdbt/adbc/<platform>/`` (``~/.cache`` by default), under the file name the release
  expects; ``ADBC_DRIVER_PATH`` is not consulted for them.

dbt-kickoff never downloads, renames or copies drivers: it passes the folder on and says what is missing.
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Mapping
from pathlib import Path

from dbt_kickoff.errors import ConfigurationError

DRIVER_PATH_VARIABLE = "ADBC_DRIVER_PATH"
DRIVER_SUFFIXES = (".so", ".dylib", ".dll", ".toml")
"""What counts as a driver in a ``drivers=`` folder: a shared library, or an ADBC driver manifest."""


def duckdb_driver_package() -> str:
    """The npm package that carries ``libduckdb`` for this platform (``@duckdb/node-bindings-linux-x64``)."""
    system = {"linux": "linux", "darwin": "darwin", "win32": "win32"}.get(sys.platform, sys.platform)
    machine = platform.machine().lower()
    arch = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
    return f"@duckdb/node-bindings-{system}-{arch}"


def duckdb_library_name() -> str:
    return {"darwin": "libduckdb.dylib", "win32": "duckdb.dll"}.get(sys.platform, "libduckdb.so")


def check_drivers_folder(drivers: str | os.PathLike[str]) -> Path:
    """``drivers`` as an absolute folder holding at least one driver; raises :class:`ConfigurationError`
    saying what is wrong and what belongs there."""
    folder = Path(drivers).expanduser().absolute()
    what = (
        f"a folder holding dbt v2's database drivers (for DuckDB: {duckdb_library_name()}, from the npm "
        f"package {duckdb_driver_package()})"
    )
    if not folder.exists():
        raise ConfigurationError(f"drivers={os.fspath(drivers)!r} does not exist; pass {what}")
    if not folder.is_dir():
        raise ConfigurationError(f"drivers={os.fspath(drivers)!r} is not a folder; pass {what}")
    try:
        found = any(child.suffix in DRIVER_SUFFIXES and child.is_file() for child in folder.iterdir())
    except OSError as exc:
        raise ConfigurationError(f"drivers={os.fspath(drivers)!r} cannot be read ({exc.strerror}); pass {what}") \
            from None
    if not found:
        raise ConfigurationError(
            f"drivers={os.fspath(drivers)!r} holds no driver (no {', '.join(DRIVER_SUFFIXES)} file); pass {what}"
        )
    return folder


def driver_search_path(drivers: Path | None, environment: Mapping[str, str]) -> dict[str, str]:
    """The ``ADBC_DRIVER_PATH`` entry of the dbt process environment: ``drivers`` in front of the inherited
    value; empty when there is no folder to add (an inherited value then passes through unchanged)."""
    if drivers is None:
        return {}
    inherited = environment.get(DRIVER_PATH_VARIABLE, "")
    return {DRIVER_PATH_VARIABLE: os.pathsep.join(filter(None, [str(drivers), inherited]))}
