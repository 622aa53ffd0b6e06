from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.core.conftest import SHOP_PROJECT, load_orders_duckdb
from tests.records.conftest import moto_s3, s3_options  # noqa: F401 - the S3 server fixture, shared

RAW = {"source_dataset_name": "raw_data"}
SHOUT = "{% macro shout(text) %}upper({{ text }}){% endmacro %}"
SHOUTED_MODEL = "select {{ helpers.shout('country') }} as country from {{ ref('stg_orders') }}\n"


def copy_shop(where: Path) -> Path:
    """A fresh copy of the shop package at ``where`` (a new clone of the same commit, as far as dbt can tell)."""
    shutil.copytree(SHOP_PROJECT, where)
    return where


def git(folder: Path, *args: str) -> str:
    done = subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=folder, check=True,
                          capture_output=True, text=True)
    return done.stdout.strip()


def helper_package(folder: Path) -> str:
    """A dbt package with the ``shout`` macro in a git repository at ``folder``; returns its file:// URL."""
    (folder / "macros").mkdir(parents=True)
    (folder / "dbt_project.yml").write_text("name: helpers\nversion: '1.0'\nconfig-version: 2\n")
    (folder / "macros" / "shout.sql").write_text(SHOUT)
    git(folder, "init", "-q")
    git(folder, "add", ".")
    git(folder, "commit", "-qm", "v1")
    return f"file://{folder}"


def use_helpers(project: Path, url: str) -> None:
    """Make ``project`` depend on the helper package (a model calls its macro)."""
    (project / "packages.yml").write_text(f"packages:\n  - git: {url}\n    revision: HEAD\n")
    (project / "models" / "shouted.sql").write_text(SHOUTED_MODEL)


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    load_orders_duckdb(path)
    return path
