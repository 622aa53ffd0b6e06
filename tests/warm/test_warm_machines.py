"""Start warm on any machine, end to end: whole processes with their own HOME, fresh git clones at different
paths, a generated 1,000-model package with a git dbt package, real dbt on DuckDB, run records on S3 (moto's
server). Machine A builds; machine B (empty HOME, another path, A's clone gone, the dbt package's repository
unreachable) builds with ``dbt deps`` skipped and dbt's partial parsing accepted, into tables equal to A's; machine
C, with one model edited, parses only that file. dbt's own log lines are the evidence."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
from bench.generate_package import generate_package

from tests.warm.conftest import git, helper_package, s3_options

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3000)]
SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "warm_machine.py"
MODELS = 1000
NO_TESTS = ["--exclude", "resource_type:test"]  # the tables are what is compared; 1,250 data tests add minutes


def machine(tmp_path: Path, name: str, config: dict[str, Any]) -> dict[str, Any]:
    """Run one machine as its own process, with its own empty HOME."""
    home = tmp_path / f"home-{name}"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache"),
           "XDG_STATE_HOME": str(home / ".local" / "state"), "XDG_CONFIG_HOME": str(home / ".config")}
    done = subprocess.run([sys.executable, str(SCRIPT), json.dumps(config)], env=env, capture_output=True, text=True,
                          timeout=2400, cwd=home)
    assert done.returncode == 0, done.stderr[-6000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def relation_digests(database: Path, schema: str) -> dict[str, tuple[int, int]]:
    """Each relation of ``schema``: its row count and an order-independent hash of its rows (the file is opened
    alone, under its own name, so its views read its own tables)."""
    with duckdb.connect(str(database), read_only=True) as con:
        names = [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = ?", [schema]).fetchall()]
        found = {}
        for name in names:
            row = con.execute(f'select count(*), sum(hash(t)::hugeint) from "{schema}"."{name}" as t').fetchone()
            assert row is not None
            found[name] = (int(row[0]), int(row[1] or 0))
    return found


@pytest.fixture
def origin(tmp_path: Path) -> tuple[str, Path]:
    """A git repository with the generated package, which uses a dbt package from another git repository;
    returns the package's URL and the dbt package's repository (to remove: the package hub is down)."""
    helpers = tmp_path / "helpers"
    url = helper_package(helpers)
    package = generate_package(tmp_path / "origin", models=MODELS)
    (package / "packages.yml").write_text(f"packages:\n  - git: {url}\n    revision: HEAD\n")
    (package / "models" / "shouted.sql").write_text(
        "select {{ helpers.shout('label') }} as label from {{ ref('m1_000') }}\n")
    (package / ".gitignore").write_text("target/\nlogs/\ndbt_packages/\n")
    git(package, "init", "-q")
    git(package, "add", ".")
    git(package, "commit", "-qm", "the package")
    return f"file://{package}", helpers


def test_a_fresh_machine_starts_warm_from_the_records_on_s3(tmp_path: Path, origin: tuple[str, Path],
                                                            moto_s3: str) -> None:
    import boto3

    boto3.client("s3", endpoint_url=moto_s3, region_name="us-east-1", aws_access_key_id="testing",
                 aws_secret_access_key="testing-secret").create_bucket(Bucket="warm")
    url, helpers = origin
    database = tmp_path / "data" / "warehouse.duckdb"  # the same path on every machine (as in a pod image)
    database.parent.mkdir()
    common = {"origin": url, "destination": f"duckdb:///{database}", "dataset": "analytics",
              "records": "s3://warm/records", "records_options": s3_options(moto_s3), "cmd_params": NO_TESTS}

    a = machine(tmp_path, "a", {**common, "clone": str(tmp_path / "a" / "clone")})
    assert a["steps"] == ["deps", "build"] and a["report"]["packages"] == "installed"
    assert a["statuses"] == {"success": MODELS + 5}  # 1,000 models, the helper-using one, 4 seeds
    a_side = tmp_path / "a-result" / "warehouse.duckdb"
    a_side.parent.mkdir()
    shutil.move(database, a_side)
    shutil.rmtree(tmp_path / "a")  # machine A is gone
    shutil.rmtree(helpers)  # and the dbt package's repository cannot be reached

    b_clone = tmp_path / "b" / "elsewhere" / "clone"
    b = machine(tmp_path, "b", {**common, "clone": str(b_clone)})
    assert b["steps"] == ["build"] and b["report"]["packages"] == "restored"  # no dbt deps: no git, no hub
    warm = b["report"]["warm_state"]
    assert warm["restored"] == ["parse state", "packages"] and warm["partial_parse"] == "accepted"
    log = (b_clone / "logs" / "dbt.log").read_text()
    assert "Unable to do partial parsing" not in log
    assert "Partial parsing enabled: 0 files deleted, 0 files added, 0 files changed." in log
    assert b["statuses"] == a["statuses"]
    assert relation_digests(database, "analytics") == relation_digests(a_side, "analytics")

    c_clone = tmp_path / "c" / "clone"
    c = machine(tmp_path, "c", {**common, "clone": str(c_clone), "call": "parse",
                                "edits": {"models/layer_3/m3_007.sql": "\n-- edited on machine c\n"}})
    assert c["report"]["warm_state"]["partial_parse"] == "accepted"
    log = (c_clone / "logs" / "dbt.log").read_text()
    assert "Unable to do partial parsing" not in log
    assert "Partial parsing enabled: 0 files deleted, 0 files added, 1 files changed." in log
