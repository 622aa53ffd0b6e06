"""When the code is unchanged, the decision asks neither ``dbt source freshness`` nor ``dbt ls``: what it does in
their place must give dbt's answers. Compared with real dbt on a package with the node kinds selection must get
right (ephemeral model, seed, snapshot, unit test, singular and relationships tests across branches, exposure,
disabled model) and sources measured every way (naive timestamp, timestamptz with a filter, date, empty table,
``loaded_at_query``), on DuckDB and PostgreSQL."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import dbt_kickoff
from dbt_kickoff.changed.loaded_at import NEVER_LOADED, measurable_here, measure_loaded_at
from dbt_kickoff.changed.selection import LS_KEYS, Listed, ManifestGraph, parse_ls_line
from dbt_kickoff.changed.sources import loaded_at_in, sources_of_manifest
from dbt_kickoff.changed.warehouse import connect
from dbt_kickoff.engines import DbtEvent
from dbt_kickoff.errors import DBTProcessingError
from tests.postgres_server import PostgresServer

FILES = {
    "dbt_project.yml": "name: lineage\nversion: '1.0'\nprofile: lineage\n",
    "models/sources.yml": """version: 2
sources:
  - name: raw
    schema: "{{ var('source_dataset_name') }}"
    freshness: {warn_after: {count: 1, period: day}}
    tables:
      - name: naive
        loaded_at_field: loaded_at
        columns: [{name: id, data_tests: [unique]}]
      - name: aware
        loaded_at_field: loaded_tz
        freshness: {warn_after: {count: 1, period: day}, filter: "kind <> 'late'"}
      - name: dated
        loaded_at_field: loaded_on
      - name: empty
        loaded_at_field: loaded_at
      - name: queried
        loaded_at_query: "select max(loaded_at) from {{ var('source_dataset_name') }}.naive"
      - name: unmeasured
        identifier: naive
""",
    "models/stg_naive.sql": "select id, kind from {{ source('raw', 'naive') }}",
    "models/stg_aware.sql": "select id, kind from {{ source('raw', 'aware') }}",
    "models/eph.sql": "{{ config(materialized='ephemeral') }} select id from {{ ref('stg_naive') }}",
    "models/joined.sql": "select e.id, a.kind from {{ ref('eph') }} e join {{ ref('stg_aware') }} a on a.id = e.id",
    "models/colored.sql": "select a.id, c.color from {{ ref('stg_aware') }} a join {{ ref('colors') }} c "
                          "on c.kind = a.kind",
    "models/from_unmeasured.sql": "select id from {{ source('raw', 'unmeasured') }}",
    "models/off.sql": "{{ config(enabled=false) }} select 1 as id",
    "models/schema.yml": """version: 2
models:
  - name: joined
    columns:
      - name: id
        data_tests: [{relationships: {to: ref('stg_naive'), field: id}}]
exposures:
  - name: board
    type: dashboard
    owner: {name: a, email: a@example.com}
    depends_on: [ref('joined')]
unit_tests:
  - name: colored_matches_kind
    model: colored
    given:
      - input: ref('stg_aware')
        rows: [{id: 1, kind: a}]
      - input: ref('colors')
        rows: [{kind: a, color: red}]
    expect:
      rows: [{id: 1, color: red}]
""",
    "seeds/colors.csv": "kind,color\na,red\nb,blue\n",
    "snapshots/snap.yml": """snapshots:
  - name: snap
    relation: ref('stg_naive')
    config: {unique_key: id, strategy: check, check_cols: all}
""",
    "tests/both_branches.sql": "select j.id from {{ ref('joined') }} j join {{ ref('colored') }} c on c.id = j.id "
                               "where j.id < 0",
}

TABLES = [
    "create table {s}.naive (id int, kind varchar(10), loaded_at timestamp)",
    "insert into {s}.naive values (1, 'a', '2026-11-30 10:00:00.123456'), (2, 'b', '2026-11-29 08:00:00')",
    "create table {s}.aware (id int, kind varchar(10), loaded_tz timestamptz)",
    "insert into {s}.aware values (1, 'a', '2026-11-30 10:00:00+02'), (2, 'late', '2026-12-01 23:00:00+00')",
    "create table {s}.dated (id int, loaded_on date)",
    "insert into {s}.dated values (1, '2026-11-30')",
    "create table {s}.empty (id int, loaded_at timestamp)",
    "create table {s}.queried (id int)",
]


def write_package(root: Path) -> Path:
    for name, text in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def dbt_ls(runner: dbt_kickoff.PackageRunner, selectors: list[str], state: Path | None) -> list[Listed]:
    """What ``dbt ls`` lists for ``selectors`` (with ``--state`` when given), read from its printed lines."""
    nodes: list[Listed] = []

    def collect(event: DbtEvent) -> None:
        if event.name == "PrintEvent" and (node := parse_ls_line(event.message)) is not None:
            nodes.append(node)

    command = ["ls", "--select", *selectors, *(["--state", str(state)] if state else []), "--output", "json",
               "--output-keys", *LS_KEYS]
    runner.on_event = collect
    try:
        runner.invoke(command)
    finally:
        runner.on_event = None
    return nodes


def check_against_dbt(runner: dbt_kickoff.PackageRunner, tmp_path: Path) -> None:
    assert {r.status for r in runner.build()} <= {"success", "pass", "no-op"}  # no-op: the ephemeral model
    manifest = json.loads((runner.target_path(None) / "manifest.json").read_text())
    sources = sources_of_manifest(manifest)

    # freshness: the value measured here is dbt's max_loaded_at, for every source measured here
    with contextlib.suppress(DBTProcessingError):
        runner.source_freshness()  # fails on dated and empty
    by_dbt = loaded_at_in(json.loads((runner.target_path(None) / "sources.json").read_text()))
    with connect(runner.profile) as warehouse:
        here = measure_loaded_at(warehouse, sources)
    assert {s.name for s in sources if not measurable_here(s)} == {"queried", "unmeasured"}
    assert set(here) == {s.unique_id for s in sources if s.name in ("naive", "aware", "dated", "empty")}
    assert here == {uid: by_dbt.get(uid) for uid in here}
    uid = "source.lineage.raw."
    assert here[uid + "naive"] == datetime.fromisoformat("2026-11-30T10:00:00.123456+00:00")
    assert here[uid + "aware"] == datetime.fromisoformat("2026-11-30T08:00:00+00:00")  # the filter left out 'late'
    assert here[uid + "dated"] is None  # not a timestamp: dbt's freshness fails too
    assert here[uid + "empty"] == NEVER_LOADED  # dbt's value for a table without rows
    assert by_dbt[uid + "queried"] is not None  # left to dbt, which measures it

    # selection: the graph here selects what dbt ls selects, for each source and for a failed-last-time state
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    (state_dir / "manifest.json").write_text(json.dumps(manifest))
    failed = {"model.lineage.stg_naive": "error", "test.lineage.both_branches": "fail",
              "seed.lineage.colors": "skipped"}
    results = json.loads((runner.target_path(None) / "run_results.json").read_text())  # the build's
    for entry in results["results"]:
        entry["status"] = failed.get(entry["unique_id"], entry["status"])
    (state_dir / "run_results.json").write_text(json.dumps(results))
    graph = ManifestGraph(manifest, failed)
    selections = [[s.selector] for s in sources] + [["result:error+"], ["result:fail+"], ["result:skipped+"],
                                                    ["source:raw.naive+", "source:raw.aware+"]]
    for selectors in selections:
        listed = graph.select(selectors)
        assert listed is not None
        with_state = selectors[0].startswith("result:")
        by_dbt_ls = dbt_ls(runner, selectors, state_dir if with_state else None)
        assert sorted(n.unique_id for n in listed) == sorted(n.unique_id for n in by_dbt_ls), selectors
        assert {n.unique_id: n.parents for n in listed} == {n.unique_id: n.parents for n in by_dbt_ls}
    everything = graph.select(["source:raw.naive+"])
    assert everything is not None and "unit_test.lineage.colored.colored_matches_kind" not in {
        n.unique_id for n in everything}
    assert "unit_test.lineage.colored.colored_matches_kind" in {n.unique_id for n in graph.select(
        ["source:raw.aware+"]) or ()}
    assert graph.select(["tag:x"]) is None and graph.select(["state:modified+"]) is None


def duckdb_setup(tmp_path: Path) -> Callable[[], dbt_kickoff.PackageRunner]:
    import duckdb

    database = tmp_path / "graph.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute("create schema raw")
        for sql in TABLES:
            con.execute(sql.format(s="raw"))
    project = write_package(tmp_path / "graph")
    return lambda: dbt_kickoff.package(f"duckdb:///{database}", project, dataset_name="g", records=False,
                                       source_dataset_name="raw")


def test_decision_matches_dbt_on_duckdb(tmp_path: Path) -> None:
    with duckdb_setup(tmp_path)() as runner:
        check_against_dbt(runner, tmp_path)


def test_decision_matches_dbt_on_postgres(postgres: PostgresServer, tmp_path: Path) -> None:
    psycopg2: Any = pytest.importorskip("psycopg2")
    with psycopg2.connect(postgres.url()) as con, con.cursor() as cursor:
        cursor.execute("drop schema if exists graph_raw cascade; create schema graph_raw")
        for sql in TABLES:
            cursor.execute(sql.format(s="graph_raw"))
    project = write_package(tmp_path / "graph")
    with dbt_kickoff.package(postgres.url(), project, dataset_name="graph_g", records=False,
                             source_dataset_name="graph_raw") as runner:
        check_against_dbt(runner, tmp_path)
