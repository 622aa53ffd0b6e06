"""Where dbt finds a package's own ``profiles.yml`` when no destination is given, as dbt looks for it:
``--profiles-dir``, else ``$DBT_PROFILES_DIR``, else the project folder (dbt's working directory), else
``~/.dbt``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from dbt_kickoff.profiles.profiles_dir import PROFILES_FILE


def find_profiles_yml(project_dir: Path, profiles_dir: str | Path | None = None,
                      environ: Mapping[str, str] | None = None) -> Path | None:
    """The ``profiles.yml`` dbt would read for the project in ``project_dir``, or ``None`` when there is none."""
    environ = os.environ if environ is None else environ
    if profiles_dir is not None:
        folders = [Path(profiles_dir)]
    elif environ.get("DBT_PROFILES_DIR"):
        folders = [Path(environ["DBT_PROFILES_DIR"])]
    else:
        folders = [project_dir, Path.home() / ".dbt"]
    found = [folder.expanduser() / PROFILES_FILE for folder in folders]
    return next((path for path in found if path.is_file()), None)
