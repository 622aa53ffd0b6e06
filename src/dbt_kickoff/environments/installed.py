"""The dbt version an environment has installed, read from its package metadata (no dbt start)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from dbt_kickoff.environments import DbtEnvironment

_DIST = re.compile(r"^dbt_core-(.+)\.dist-info$")


def installed_dbt_version(environment: DbtEnvironment) -> str | None:
    """dbt-core's version in a Python environment (this interpreter's or a venv's), or ``None`` when it cannot
    be told without starting dbt (a dbt executable, an unusual layout)."""
    if environment.dbt_version:
        return environment.dbt_version
    if environment.engine != "worker" or environment.python is None:
        return None
    if Path(environment.python) == Path(sys.executable):
        import importlib.metadata  # imported when first needed: it is slow to import

        try:
            return importlib.metadata.version("dbt-core")
        except importlib.metadata.PackageNotFoundError:
            return None
    root = Path(environment.python).parent.parent
    found = [m.group(1) for path in root.glob("lib/python*/site-packages/dbt_core-*.dist-info")
             if (m := _DIST.match(path.name))]
    return found[0] if len(found) == 1 else None
