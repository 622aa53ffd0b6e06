"""The parts of changed-only's soundness that need no dbt: the content fingerprint (folders outside the project,
env_var reads, large files), the other inputs it compares, the target in a record's identity, killed calls."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from dbt_kickoff.changed.history import find_history
from dbt_kickoff.changed.inputs import input_changes, inputs_now, relations_moved
from dbt_kickoff.core.invocations import RecordIdentity
from dbt_kickoff.core.project import Project
from dbt_kickoff.fingerprint import DYNAMIC, LARGE_FILE
from dbt_kickoff.profiles.location import location_of, profiles_yml_location
from dbt_kickoff.records import RecordStore
from dbt_kickoff.records.identity import last_complete_ref
from dbt_kickoff.sources import resolve_local

PROJECT = """name: shop
config-version: 2
profile: shop
macro-paths: ["macros", "../shared_macros"]
vars:
  country: DE
"""


def make_project(root: Path) -> Project:
    (root / "shop" / "models").mkdir(parents=True)
    (root / "shop" / "macros").mkdir()
    (root / "shop" / "seeds").mkdir()
    (root / "shared_macros").mkdir()
    (root / "shop" / "dbt_project.yml").write_text(PROJECT)
    (root / "shop" / "models" / "a.sql").write_text("select '{{ env_var(\"REGION\") }}' as region\n")
    (root / "shop" / "models" / "b.sql").write_text("select {{ money('1') }} as x\n")
    (root / "shop" / "models" / "c.sql").write_text("select {{ env_var(name_of_var) }} as x\n")
    (root / "shop" / "models" / "schema.yml").write_text("version: 2\n")
    (root / "shared_macros" / "money.sql").write_text("{% macro money(x) %}{{ x }}{% endmacro %}\n")
    return Project(resolve_local(root / "shop"))


def fresh(project: Project) -> Project:
    return Project(resolve_local(project.dir))


def test_the_fingerprint_is_by_content_and_covers_folders_outside_the_project(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    first = project.fingerprint
    model = project.dir / "models" / "a.sql"
    os.utime(model, (1, 1))  # touched: same content
    assert fresh(project).fingerprint == first
    shared = tmp_path / "shared_macros" / "money.sql"
    shared.write_text(shared.read_text().replace("{{ x }}", "round({{ x }}, 2)"))
    changed = fresh(project)
    assert changed.fingerprint != first
    assert "../shared_macros" in changed.outside_folders()
    text = model.read_text()
    model.write_text(text.replace("REGION", "REGIOn"))  # same size, and the old modification time put back
    os.utime(model, (1, 1))
    assert fresh(project).fingerprint != changed.fingerprint


def test_env_var_reads_and_large_files_are_found(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    (project.dir / "seeds" / "big.csv").write_bytes(b"id\n" + b"1\n" * (LARGE_FILE // 2 + 1))
    files = project.files
    assert files.env_vars == {"REGION": ["models/a.sql"], DYNAMIC: ["models/c.sql"]}
    assert list(files.large_files) == ["seeds/big.csv"]


def manifest_for(project: Project) -> dict[str, Any]:
    def node(name: str, raw: str, macros: tuple[str, ...] = (), kind: str = "model") -> dict[str, Any]:
        path = f"seeds/{name}.csv" if kind == "seed" else f"models/{name}.sql"
        return {"resource_type": kind, "fqn": ["shop", name], "raw_code": raw, "package_name": "shop",
                "original_file_path": path, "depends_on": {"macros": list(macros), "nodes": []}}

    return {
        "nodes": {
            "model.shop.a": node("a", (project.dir / "models" / "a.sql").read_text()),
            "model.shop.b": node("b", "select {{ money('1') }}", ("macro.shop.money",)),
            "model.shop.c": node("c", (project.dir / "models" / "c.sql").read_text()),
            "seed.shop.big": node("big", "", kind="seed"),
        },
        "macros": {"macro.shop.money": {"macro_sql": "{% macro money(x) %}{{ env_var('CURRENCY') }}{% endmacro %}",
                                        "depends_on": {"macros": []}}},
    }


def test_other_inputs_are_compared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(tmp_path)
    (project.dir / "seeds" / "big.csv").write_bytes(b"id\n" + b"1\n" * (LARGE_FILE // 2 + 1))
    monkeypatch.setenv("REGION", "eu")
    then = inputs_now(project)
    manifest = manifest_for(project)
    same = input_changes(project, then, inputs_now(fresh(project)), manifest)
    assert same.everything is None
    assert same.nodes == {"model.shop.c": "env_var() with a computed name cannot be checked"}
    assert "eu" not in json.dumps(then)  # only hashes are kept

    monkeypatch.setenv("REGION", "us")
    big = project.dir / "seeds" / "big.csv"
    big.write_bytes(big.read_bytes().replace(b"1\n", b"2\n", 1))  # same size
    changes = input_changes(project, then, inputs_now(fresh(project)), manifest)
    assert changes.nodes["model.shop.a"] == "env_var('REGION') changed"
    assert changes.nodes["seed.shop.big"].startswith("seed over 1 MiB changed")
    assert "model.shop.b" not in changes.nodes

    (project.dir / "dbt_project.yml").write_text(PROJECT.replace("country: DE", "country: FR"))
    assert input_changes(fresh(project), then, inputs_now(fresh(project)), manifest).everything == (
        "vars in dbt_project.yml changed (dbt compares no vars: every node may read them)")
    assert input_changes(project, None, then, manifest).everything is not None  # nothing recorded: unproven


def test_an_env_var_read_in_yaml_or_a_secret_one_cannot_be_narrowed(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(tmp_path)
    (project.dir / "models" / "schema.yml").write_text("version: 2\nmodels:\n  - name: a\n    config:\n"
                                                       "      schema: \"{{ env_var('TARGET_SCHEMA') }}\"\n")
    monkeypatch.setenv("TARGET_SCHEMA", "one")
    then = inputs_now(fresh(project))
    monkeypatch.setenv("TARGET_SCHEMA", "two")
    changes = input_changes(fresh(project), then, inputs_now(fresh(project)), manifest_for(project))
    assert changes.everything == "env_var('TARGET_SCHEMA') changed"
    (project.dir / "models" / "a.sql").write_text("select '{{ env_var(\"API_TOKEN\") }}'\n")
    secret = fresh(project)
    assert "API_TOKEN" not in inputs_now(secret)["env_vars"]


def test_the_database_is_part_of_the_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    one = location_of({"type": "duckdb", "path": "/a/one.duckdb", "schema": "main", "threads": 4})
    two = location_of({"type": "duckdb", "path": "/a/two.duckdb", "schema": "main", "threads": 8})
    assert one != two and "schema" not in one and "threads" not in one
    (tmp_path / "profiles.yml").write_text("shop:\n  target: dev\n  outputs:\n    dev:\n      type: postgres\n"
                                           "      host: \"{{ env_var('PGHOST') }}\"\n"
                                           "      password: \"{{ env_var('DBT_ENV_SECRET_PW') }}\"\n")
    monkeypatch.setenv("PGHOST", "db-blue")
    monkeypatch.setenv("DBT_ENV_SECRET_PW", "hunter2")
    blue = profiles_yml_location([tmp_path], "shop", None)
    monkeypatch.setenv("PGHOST", "db-green")
    green = profiles_yml_location([tmp_path], "shop", None)
    assert blue != green and "hunter2" not in json.dumps(green)


def identity(location: str, dataset: str = "main") -> RecordIdentity:
    return RecordIdentity("/p/shop", "shop", "shop", "dev", "duckdb", "main", "v", "1.11", location, dataset)


def write_record(store: RecordStore, name: str, ident: RecordIdentity) -> None:
    folder = store.staging_dir(name)
    data = {"name": name, "call": "build", "outcome": "success", "params": {}, "steps": [],
            "identity": ident.to_dict()}
    (folder / "report.json").write_text(json.dumps(data))
    (folder / "manifest.json").write_text("{}")
    store.publish(folder, name)
    store.write_ref(last_complete_ref(ident.state_key), name)


def test_a_call_that_started_dbt_and_left_no_record_makes_the_next_decide_build_everything(tmp_path: Path) -> None:
    store = RecordStore(tmp_path / "records")
    here, elsewhere = identity("file-a"), identity("file-b")
    write_record(store, "20261201T000000000000Z-00000000-0000-0000-0000-000000000001", here)
    assert find_history(store, here).baseline is not None
    started = {"identity": elsewhere.to_dict()}
    store.mark_started("20261201T000001000000Z-00000000-0000-0000-0000-000000000002", json.dumps(started).encode())
    assert find_history(store, here).baseline is not None  # a call on another database: not ours
    store.mark_started("20261201T000002000000Z-00000000-0000-0000-0000-000000000003",
                       json.dumps({"identity": here.to_dict()}).encode())
    history = find_history(store, here)
    assert history.baseline is None and "stopped before its record was complete" in (history.why or "")
    assert find_history(store, identity("file-a", dataset="other")).baseline is None  # no good run there


def test_hooks_and_moved_relations_and_linked_packages(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    then = inputs_now(project)
    (project.dir / "dbt_project.yml").write_text(PROJECT + "on-run-start: [\"create table if not exists x (a int)\"]\n")
    assert input_changes(fresh(project), then, inputs_now(fresh(project)), manifest_for(project)).everything == (
        "on-run-start/on-run-end hooks in dbt_project.yml changed (they belong to no node)")

    before = {"nodes": {"model.shop.a": {"resource_type": "model", "relation_name": '"db"."main"."a"',
                                          "schema": "main", "database": "db", "alias": "a"}}}
    after = {"nodes": {"model.shop.a": {**before["nodes"]["model.shop.a"], "schema": "main_v2",
                                        "relation_name": '"db"."main_v2"."a"'}}}
    assert relations_moved(before, after) == {"model.shop.a": "its relation moved (database, schema or alias: "
                                                               "generate_schema_name...)"}
    assert relations_moved(before, before) == {}

    shared = tmp_path / "shared_pkg"
    (shared / "macros").mkdir(parents=True)
    (shared / "macros" / "m.sql").write_text("{% macro m() %}1{% endmacro %}\n")
    (project.dir / "dbt_packages").mkdir()
    (project.dir / "dbt_packages" / "shared_pkg").symlink_to(shared)  # what dbt deps does for a local: package
    linked = fresh(project).fingerprint
    (shared / "macros" / "m.sql").write_text("{% macro m() %}2{% endmacro %}\n")
    assert fresh(project).fingerprint != linked
