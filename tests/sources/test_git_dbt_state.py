"""Real dbt on a git checkout: partial parsing stays valid across an update that did not touch the project."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dbt_kickoff.sources import open_source
from tests.sources.upstream import Upstream

DBT = Path(sys.executable).parent / "dbt"


def _parse(project_dir: Path, profiles_dir: Path) -> str:
    completed = subprocess.run(
        [
            str(DBT),
            "--debug",
            "parse",
            "--project-dir",
            str(project_dir),
            "--profiles-dir",
            str(profiles_dir),
        ],
        cwd=project_dir,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    return completed.stdout


@pytest.mark.slow
@pytest.mark.skipif(not DBT.exists(), reason="dbt is not installed in this environment")
def test_partial_parse_survives_an_update_outside_the_project(
    upstream: Upstream, cache_dir: Path, tmp_path: Path
) -> None:
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "profiles.yml").write_text(
        "tiny:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        f"      path: {tmp_path / 'db.duckdb'}\n"
    )
    source = open_source(upstream.file_url, cache_dir=cache_dir)
    project = source.resolve().project_dir
    _parse(project, profiles)
    assert (project / "target" / "partial_parse.msgpack").is_file()

    upstream.commit({"docs/README.md": "only the docs changed\n"}, "docs only")
    updated = source.ensure_newest()
    assert updated.commit_sha == upstream.head()
    second = _parse(project, profiles)
    assert "Unable to do partial parsing" not in second
    assert "Partial parsing enabled" in second
