"""Run dbt-autofix with the JSON schemas of the user's dbt v2 engine instead of downloading them (stdlib only).

Started by :mod:`dbt_kickoff.autofix` with the Python of a tool venv holding dbt-autofix:
``python offline_script.py SCHEMAS_FOLDER deprecations --path ... --json``. dbt-autofix reads which fields dbt v2
accepts from two JSON schemas it downloads from dbt Labs' CDN (``retrieve_schemas``), which fails offline; the
same schemas come from the v2 binary itself (``dbt man --pre-schema schema|project``), written into
``SCHEMAS_FOLDER`` as ``yaml-files.json`` and ``dbt-project.json``. This replaces the three download functions
of ``dbt_autofix.retrieve_schemas`` with readers of those files, then runs dbt-autofix's own command line.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

SEAM = ("get_fusion_latest_version", "get_fusion_yml_schema", "get_fusion_dbt_project_schema")
EXIT_UNSUPPORTED = 3


def main() -> None:
    folder = Path(sys.argv[1])
    retrieve_schemas: Any = importlib.import_module("dbt_autofix.retrieve_schemas")

    missing = [name for name in SEAM if not callable(getattr(retrieve_schemas, name, None))]
    if missing:
        print(f"dbt-kickoff: this dbt-autofix has no dbt_autofix.retrieve_schemas.{missing[0]}; it cannot run "
              "offline through dbt-kickoff", file=sys.stderr)
        sys.exit(EXIT_UNSUPPORTED)

    def read(name: str) -> Any:
        return json.loads((folder / name).read_text(encoding="utf-8"))

    retrieve_schemas.get_fusion_latest_version = lambda client: "local"
    retrieve_schemas.get_fusion_yml_schema = lambda client, version: read("yaml-files.json")
    retrieve_schemas.get_fusion_dbt_project_schema = lambda client, version: read("dbt-project.json")
    command_line: Any = importlib.import_module("dbt_autofix.main")
    sys.argv = ["dbt-autofix", *sys.argv[2:]]
    command_line.app()


if __name__ == "__main__":
    main()
