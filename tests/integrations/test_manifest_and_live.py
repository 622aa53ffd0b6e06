"""What the orchestrator integrations share, with real dbt in this venv: the manifest graph and ``LiveRun``."""

from __future__ import annotations

import json
from pathlib import Path

import psutil
import pytest

import dbt_kickoff
from dbt_kickoff.errors import ConfigurationError, DBTProcessingError
from dbt_kickoff.integrations.live import LiveRun
from dbt_kickoff.integrations.manifest import load_manifest, manifest_graph, parse_manifest, selector
from tests.slow_sql import slow_duckdb_model


def runner_for(shop: dict[str, str], **options: object) -> dbt_kickoff.PackageRunner:
    return dbt_kickoff.package(shop["destination"], shop["package"], source_dataset_name="raw_data",
                               dataset_name="analytics", **options)  # type: ignore[arg-type]


def test_the_graph_has_built_nodes_their_upstream_through_ephemeral_models_tests_and_sources(
    shop: dict[str, str],
) -> None:
    Path(shop["package"], "models", "orders_de.sql").write_text(
        "{{ config(materialized='ephemeral') }} select * from {{ ref('stg_orders') }} where country = 'DE'"
    )
    Path(shop["package"], "models", "revenue_de.sql").write_text(
        "select sum(amount) as revenue from {{ ref('orders_de') }}"
    )
    with runner_for(shop) as runner:
        graph = manifest_graph(parse_manifest(runner))

    nodes = {n.name: n for n in graph.nodes}
    assert set(nodes) == {"countries", "stg_orders", "orders_incremental", "revenue_by_country", "revenue_de"}
    assert nodes["stg_orders"].upstream == ("source.shop.raw.orders",)
    assert set(nodes["revenue_by_country"].upstream) == {"model.shop.stg_orders", "seed.shop.countries"}
    assert nodes["revenue_de"].upstream == ("model.shop.stg_orders",)  # through the ephemeral model
    assert {t.name for t in nodes["revenue_by_country"].tests} == {
        "unique_revenue_by_country_country", "not_null_revenue_by_country_country", "no_negative_revenue"}
    assert nodes["countries"].resource_type == "seed" and nodes["countries"].tests == ()
    assert [(s.source_name, s.name) for s in graph.sources] == [("raw", "orders")]
    assert selector(nodes["revenue_de"]) == "fqn:shop.revenue_de"


def test_a_manifest_that_is_missing_or_not_a_manifest_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="dbt parse"):
        load_manifest(tmp_path / "target" / "manifest.json")
    (tmp_path / "manifest.json").write_text(json.dumps({"hello": "world"}))
    with pytest.raises(ConfigurationError, match=r"not a dbt manifest"):
        manifest_graph(load_manifest(tmp_path / "manifest.json"))


def test_live_run_streams_node_events_and_hands_back_the_runner_error(shop: dict[str, str]) -> None:
    live = LiveRun(lambda on_event: runner_for(shop, on_event=on_event),
                   lambda runner: runner.build(additional_vars={"fail_test": True}))
    finished = [(e.node.name, e.node.status) for e in live.events() if e.finished and e.node]

    assert ("stg_orders", "success") in finished and ("no_negative_revenue", "fail") in finished
    assert finished.index(("stg_orders", "success")) < finished.index(("revenue_by_country", "success"))
    with pytest.raises(DBTProcessingError, match="no_negative_revenue") as caught:
        live.outcome()
    assert {r.model_name for r in caught.value.failed_nodes} == {"no_negative_revenue"}
    live.runner.close()


def test_a_consumer_that_stops_listening_cancels_dbt(shop: dict[str, str]) -> None:
    Path(shop["package"], "models", "slow.sql").write_text(slow_duckdb_model(depends_on="stg_orders"))
    live = LiveRun(lambda on_event: runner_for(shop, on_event=on_event),
                   lambda runner: runner.run(["--select", "stg_orders", "slow"]))
    events = live.events()
    for event in events:
        if event.finished and event.node and event.node.name == "stg_orders":
            break  # slow is now running
    me = psutil.Process()
    workers = [c for c in me.children(recursive=True) if "worker_script.py" in " ".join(c.cmdline())]
    assert workers, "no dbt worker while the slow model runs"
    events.close()  # what an orchestrator's interruption does to the generator

    _, alive = psutil.wait_procs(workers, timeout=30)
    assert not alive, f"dbt worker still running: {[p.pid for p in alive]}"
    with pytest.raises(dbt_kickoff.DbtCancelled):
        live.outcome()
