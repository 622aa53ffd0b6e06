"""``ManifestSelector`` picks what dbt itself picks: each selection worked out on the manifest equals what
``dbt ls`` lists for the same arguments (resource types dbt builds), on the task group's test package."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import dbt_kickoff
from dbt_kickoff.engines import DbtEvent
from dbt_kickoff.integrations.selection import RUNNABLE, ManifestSelector
from tests.integrations.airflow.package import make_package

SELECTIONS = [
    ({}, "everything"),
    ({"select": "fct_orders"}, "a name"),
    ({"select": "fct_orders+"}, "children"),
    ({"select": "+fct_orders"}, "parents, through an ephemeral model and a source"),
    ({"select": "2+m4_000"}, "parents to a depth"),
    ({"select": "m1_000+1"}, "children to a depth"),
    ({"select": "@int_orders"}, "@"),
    ({"select": "bench_generated.layer_2"}, "an fqn prefix"),
    ({"select": "bench_generated.layer_*"}, "an fqn wildcard"),
    ({"select": "m2_*"}, "a name wildcard"),
    ({"select": "path:models/marts"}, "a folder"),
    ({"select": "path:models/layer_1/_models.yml"}, "the YAML file that describes models"),
    ({"select": "file:fragile.sql"}, "a file name"),
    ({"select": "resource_type:seed"}, "a resource type"),
    ({"select": "config.materialized:table"}, "a config value"),
    ({"select": "source:raw+"}, "a source and what reads it"),
    ({"select": "test_type:singular"}, "singular tests"),
    ({"select": "test_name:relationships"}, "a generic test's name"),
    ({"select": "tag:nothing fragile"}, "a union"),
    ({"select": "path:models/marts,config.materialized:view"}, "an intersection"),
    ({"select": "path:models/marts", "exclude": "fragile+"}, "an exclusion, tests included"),
    ({"exclude": "resource_type:test"}, "no tests"),
    ({"selector": "marts"}, "a YAML selector"),
]


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dbt_kickoff.PackageRunner]]:
    folder = tmp_path_factory.mktemp("selection")
    package = make_package(folder / "package", folder / "warehouse.duckdb")
    with dbt_kickoff.package(f"duckdb:///{folder / 'warehouse.duckdb'}", package, records=False) as runner:
        runner.invoke(["parse"])
        yield package, runner


def dbt_ls(runner: dbt_kickoff.PackageRunner, arguments: dict[str, str]) -> set[str]:
    listed: set[str] = set()

    def collect(event: DbtEvent) -> None:
        if event.name == "PrintEvent" and event.message.startswith("{"):
            node = json.loads(event.message)
            if node.get("resource_type") in RUNNABLE:
                listed.add(node["unique_id"])

    runner.on_event = collect
    try:
        args = [part for flag, value in arguments.items() for part in (f"--{flag}", value)]
        runner.invoke(["ls", *args, "--output", "json", "--output-keys", "unique_id", "resource_type"])
    finally:
        runner.on_event = None
    return listed


@pytest.mark.parametrize(("arguments", "what"), SELECTIONS, ids=[what for _, what in SELECTIONS])
def test_the_manifest_selection_equals_dbt_ls(package: tuple[Path, dbt_kickoff.PackageRunner],
                                             arguments: dict[str, str], what: str) -> None:
    _, runner = package
    manifest = json.loads((runner.target_path() / "manifest.json").read_text())
    mine = ManifestSelector(manifest).select(arguments.get("select"), arguments.get("exclude"),
                                             arguments.get("selector"))
    theirs = dbt_ls(runner, arguments)
    assert theirs, f"dbt ls listed nothing for {arguments}: the case tests nothing"
    assert mine == theirs, f"{what}: only mine {sorted(mine - theirs)}, only dbt's {sorted(theirs - mine)}"
