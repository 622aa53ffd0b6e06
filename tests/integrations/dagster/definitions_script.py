"""Runs in the Dagster test venv (``python definitions_script.py CONFIG_JSON``); prints one JSON line.

Loads Dagster definitions for a dbt package the way a code location does (``DbtKickoffResource.parse_manifest()``
then ``dbt_kickoff_assets``), and says how long that took and how many assets and checks it made. Whether dbt
started is for the caller to see (dbt writes its log file in the package whenever it starts).
"""

from __future__ import annotations

import json
import sys
import time

started = time.perf_counter()

from dagster import Definitions  # noqa: E402 - the import is part of what a definitions load costs

from dbt_kickoff.integrations.dagster import DbtKickoffResource, dbt_kickoff_assets  # noqa: E402


def main() -> None:
    config = json.loads(sys.argv[1])
    resource = DbtKickoffResource(package_location=config["package"], destination=config["destination"],
                                  dataset_name=config.get("dataset"), records=config["records"],
                                  records_options=config.get("records_options"))
    imported = time.perf_counter() - started
    manifest = resource.parse_manifest()
    manifest_read = time.perf_counter() - started
    assets = dbt_kickoff_assets(manifest)
    definitions = Definitions(assets=[assets], resources={"dbt_kickoff": resource})
    graph = definitions.resolve_asset_graph()
    print(json.dumps({"imported_s": imported, "manifest_s": manifest_read - imported,
                      "total_s": time.perf_counter() - started, "assets": len(list(assets.keys)),
                      "checks": len(list(assets.check_keys)), "graph_assets": len(graph.get_all_asset_keys())}))


if __name__ == "__main__":
    main()
