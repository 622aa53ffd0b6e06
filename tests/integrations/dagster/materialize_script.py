"""Runs in the Dagster test venv (``python materialize_script.py SCENARIO CONFIG_JSON``); prints one JSON line.

The outer pytest prepares the dbt package and the DuckDB file; this script builds the assets from the package's
manifest and materializes them with ``dagster.materialize`` on a real (temporary, SQLite) Dagster instance.

Scenarios:
- ``stream``: everything; a watcher thread opens the package's gate (a file a Python model waits for) only once
  Dagster has stored ``revenue_by_country``'s materialization, i.e. while dbt is still running.
- ``failures``: a failing data test, a failing model, a subset of the assets, one asset check alone.
- ``interrupt``: everything; prints ``READY`` once ``stg_orders`` is materialized, then waits to be interrupted.
- ``v2``: the small package both engines accept (``tests/fusion/package``), built by the dbt v2 engine
  (``dbt_version``; its DuckDB driver given as ``ADBC_DRIVER_PATH`` by the outer test).
- ``cloud``: the same assets built by a dbt Cloud job on the dbt Cloud emulator (``DbtCloudKickoffResource``):
  everything, with a failing test, noting the Cloud run's status when the first materialization is stored; then a
  subset.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

from dagster import (
    AssetCheckKey,
    AssetKey,
    AssetSelection,
    DagsterEventType,
    DagsterInstance,
    instance_for_test,
    materialize,
)

from dbt_kickoff.integrations.dagster import DbtCloudKickoffResource, DbtKickoffResource, dbt_kickoff_assets
from dbt_kickoff_emulator import DbtCloudEmulator, RunScript

MANIFEST: dict[str, Any] = {}  # parsed once per script: vars change no node of the graph


def events_of(result: Any) -> list[dict[str, Any]]:
    """The run's asset events and step outcome, in the order Dagster recorded them."""
    found = []
    for event in result.all_events:
        kind = event.event_type
        if kind == DagsterEventType.ASSET_MATERIALIZATION:
            found.append({"type": "materialization", "key": event.asset_key.to_user_string(),
                          "metadata": {k: v.value for k, v in event.materialization.metadata.items()}})
        elif kind == DagsterEventType.ASSET_CHECK_EVALUATION:
            data = event.event_specific_data
            found.append({"type": "check", "key": data.asset_key.to_user_string(), "check": data.check_name,
                          "passed": data.passed, "severity": data.severity.value, "description": data.description})
        elif kind == DagsterEventType.STEP_FAILURE:
            found.append({"type": "step_failure", "description": event.event_specific_data.error.message,
                          "user_description": getattr(event.event_specific_data.user_failure_data, "description",
                                                      None)})
        elif kind == DagsterEventType.STEP_SUCCESS:
            found.append({"type": "step_success"})
    return found


def watch(instance: DagsterInstance, key: str, then: Any, stop: threading.Event) -> None:
    while not stop.is_set():
        if instance.get_latest_materialization_event(AssetKey(key)) is not None:
            then()
            return
        time.sleep(0.1)


def run(resource: DbtKickoffResource, instance: DagsterInstance, selection: Any = None,
        **overrides: Any) -> dict[str, Any]:
    if "manifest" not in MANIFEST:
        MANIFEST["manifest"] = resource.parse_manifest()
    assets = dbt_kickoff_assets(MANIFEST["manifest"])
    resource = DbtKickoffResource(**{**resource.model_dump(), **overrides})  # config is fixed at creation
    result = materialize([assets], resources={"dbt_kickoff": resource}, instance=instance, raise_on_error=False,
                         selection=selection)
    return {"success": result.success, "events": events_of(result)}


CLOUD_NODES = ["seed.analytics.raw_orders", "model.analytics.stg_orders", "test.analytics.not_null_stg_orders_id.a1",
               "model.analytics.orders", "test.analytics.unique_orders_id.b2", "model.analytics.revenue"]


def cloud_scenario(instance: DagsterInstance, state_dir: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with DbtCloudEmulator() as emulator:
        emulator.add_account(1, "Dagster tests")
        emulator.add_token("dbtc_dagster-test", account_ids=[1])
        emulator.add_job(1, 42, "Nightly", execute_steps=["dbt build"])
        resource = DbtCloudKickoffResource(api_token="dbtc_dagster-test", account_id=1, job_id=42,
                                           base_url=emulator.base_url, poll_interval=0.05, state_dir=state_dir)
        emulator.script_next_run(42, RunScript(nodes=CLOUD_NODES))
        with resource.cloud() as cloud:
            cloud.run_job(42, poll_interval=0.05)  # a first good run: the job's manifest
        assets = dbt_kickoff_assets(resource.fetch_manifest(), resource_key="dbt_cloud_kickoff")
        emulator.script_next_run(42, RunScript(nodes=CLOUD_NODES, running_polls=60, outcome="error",
                                               node_statuses={"test.analytics.unique_orders_id.b2": "fail"}))
        seen: dict[str, Any] = {}
        stop = threading.Event()

        def note_status() -> None:
            seen["cloud_status_at_first_materialization"] = emulator.peek_run(emulator.run_ids(42)[-1])["status"]

        watcher = threading.Thread(target=watch, args=(instance, "stg_orders", note_status, stop))
        watcher.start()
        result = materialize([assets], resources={"dbt_cloud_kickoff": resource}, instance=instance,
                             raise_on_error=False)
        stop.set()
        watcher.join()
        out["everything"] = {"success": result.success, "events": events_of(result), **seen}
        result = materialize([assets], resources={"dbt_cloud_kickoff": resource}, instance=instance,
                             raise_on_error=False, selection=["orders"])
        out["subset"] = {"success": result.success, "events": events_of(result),
                         "steps_override": emulator.trigger_body(emulator.run_ids(42)[-1]).get("steps_override"),
                         "runs": len(emulator.run_ids(42))}
    return out


def main(scenario: str, config: dict[str, Any]) -> dict[str, Any]:
    if scenario == "cloud":
        with instance_for_test() as instance:
            return cloud_scenario(instance, config["state_dir"])
    resource = DbtKickoffResource(
        package_location=config["package"],
        destination=config["destination"],
        source_dataset_name="raw_data",
        dataset_name="analytics",
        dbt_version=config.get("dbt_version"),
    )
    out: dict[str, Any] = {}
    with instance_for_test() as instance:
        if scenario == "v2":
            out["v2"] = run(resource, instance)
            with resource.runner() as runner:
                runner.invoke(["parse"])  # after a command, the runner knows which dbt ran it
                out["dbt_version"] = runner.dbt_version
        elif scenario == "stream":
            stop = threading.Event()
            opened = threading.Event()

            def open_gate() -> None:
                Path(config["gate"]).write_text("open")
                opened.set()

            watcher = threading.Thread(target=watch, args=(instance, "revenue_by_country", open_gate, stop))
            watcher.start()
            out["stream"] = run(resource, instance)
            stop.set()
            watcher.join()
            out["gate_opened_by_watcher"] = opened.is_set()
        elif scenario == "failures":
            out["failing_test"] = run(resource, instance, vars={"fail_test": True})
            out["failing_model"] = run(resource, instance, vars={"break_model": True})
            out["subset"] = run(resource, instance, selection=["stg_orders", "orders_incremental"])
            check = AssetCheckKey(AssetKey("revenue_by_country"), "no_negative_revenue")
            out["check_only"] = run(resource, instance, selection=AssetSelection.checks(check))
        elif scenario == "interrupt":
            stop = threading.Event()
            threading.Thread(target=watch, args=(instance, "stg_orders", lambda: print("READY", flush=True), stop),
                             daemon=True).start()
            try:
                out["interrupt"] = run(resource, instance)
            except BaseException as exc:  # reported to the outer test
                out["interrupt"] = {"raised": type(exc).__name__}
            stop.set()
            out["run_statuses"] = [r.status.value for r in instance.get_runs()]
    return out


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], json.loads(sys.argv[2])), default=str), flush=True)
