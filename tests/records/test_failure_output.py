"""A failing ``dbt-kickoff run`` as a person (or a CI log) sees it, end to end on the shop package: the whole
non-terminal output against a snapshot, the printed resume command finishing the call, and a database error
quoting terminal escape sequences that never reach the terminal raw."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

import dbt_kickoff
from dbt_kickoff.cli.main import CurrentStderr
from dbt_kickoff.errors import DBTProcessingError
from dbt_kickoff.progress import NodeProgress
from dbt_kickoff.records import open_record

SNAPSHOT = Path(__file__).parent / "snapshots" / "run_all_failure.txt"
# it reads the other models, so it runs last with one thread: nothing but its own downstream is left to skip
BROKEN = ("{{ config(materialized='table') }}\nselect cast(max(r.country) as integer) as c from "
          "{{ ref('revenue_by_country') }} r, {{ ref('orders_incremental') }} o\n")
FIXED = ("{{ config(materialized='table') }}\nselect cast(max(o.id) as integer) as c from "
         "{{ ref('revenue_by_country') }} r, {{ ref('orders_incremental') }} o\n")
DOWNSTREAM = "select * from {{ ref('broken') }}\n"
# a database error quoting data with OSC "set window title", clear screen, cursor home and a colour
EVIL = ("{{ config(materialized='table') }}\nselect cast(chr(27) || ']0;pwned' || chr(7) || chr(27) || '[2J' || "
        "chr(27) || '[H' || chr(27) || '[31mred' || chr(155) || '1m' as integer) as x\n")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def kickoff(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dbt_kickoff.cli.main", *args], capture_output=True, text=True,
                          timeout=600, cwd=cwd, env={**os.environ, **(env or {})})


@pytest.fixture
def broken_shop(shop: tuple[Path, Path]) -> tuple[Path, Path]:
    """The shop package with a table model that fails (a cast of text) and a model downstream of it."""
    project, database = shop
    (project / "models" / "broken.sql").write_text(BROKEN)
    (project / "models" / "after_broken.sql").write_text(DOWNSTREAM)
    return project, database


def normalise(text: str, tmp: Path) -> str:
    """Stable across runs: no timings, record names or temporary paths; table rows as their cells."""
    text = text.replace(str(tmp), "<tmp>")
    text = re.sub(r"\d{8}T\d{6,12}Z-[0-9a-f-]{36}", "<record>", text)
    text = re.sub(r"\b\d+\.\d+s?\b", "<t>", text)
    lines = []
    for line in text.splitlines():
        if re.fullmatch(r"\s*[━─┏┓┗┛┡┩└┘┳┻╇┼┬┴][\s━─┏┓┗┛┡┩└┘┳┻╇┼┬┴]*", line):
            continue  # a table's rules
        if line.lstrip().startswith(("│", "┃")):
            line = " | ".join(cell.strip() for cell in re.split(r"[│┃]", line)[1:-1])
        lines.append(line.rstrip())
    return "\n".join(lines) + "\n"


def test_failed_run_all_output_and_its_resume_command(broken_shop: tuple[Path, Path], tmp_path: Path) -> None:
    project, database = broken_shop
    failed = kickoff("run", str(project), "--destination", f"duckdb:///{database}", "--source-dataset-name",
                     "raw_data", "--records", str(tmp_path / "records"), "--threads", "1", cwd=tmp_path)
    assert failed.returncode == 1, failed.stderr
    shown = normalise(f"--- stdout\n{failed.stdout}--- stderr\n{failed.stderr}", tmp_path)
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(shown)
    assert shown == SNAPSHOT.read_text()
    # dbt's message is told once (in the failure's block), not relayed as ERROR log lines too
    assert failed.stderr.count("Could not convert string") == 1 and " ERROR " not in failed.stderr
    assert "CANCEL" not in failed.stderr

    resume = next(line for line in failed.stderr.splitlines() if line.startswith("resume with: "))
    command = shlex.split(resume.removeprefix("resume with: "))
    assert command[:2] == ["dbt-kickoff", "retry"] and Path(command[2]).is_dir()
    (project / "models" / "broken.sql").write_text(FIXED)
    resumed = kickoff(*command[1:], "--json", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    statuses = {r["model_name"]: r["status"] for s in json.loads(resumed.stdout)["steps"] for r in s["results"]}
    assert statuses["broken"] == statuses["after_broken"] == "success"
    assert statuses["no_negative_revenue"] == "pass"  # the test step the failed call never reached


def test_escape_sequences_from_the_warehouse_never_reach_the_terminal(shop: tuple[Path, Path],
                                                                      tmp_path: Path) -> None:
    project, database = shop
    (project / "models" / "evil.sql").write_text(EVIL)
    records = tmp_path / "records"
    for verbosity in ([], ["-v"]):  # -v relays dbt's log lines too
        done = kickoff(*verbosity, "run", str(project), "--destination", f"duckdb:///{database}",
                       "--source-dataset-name", "raw_data", "--records", str(records), "--command", "build",
                       cwd=tmp_path)
        assert done.returncode == 1, done.stderr
        assert "Could not convert string 'red' to INT32" in done.stderr  # the text stays, its escapes go
        assert not CONTROL.search(done.stdout + done.stderr), repr(CONTROL.findall(done.stderr))
    raw = (Path(open_record("latest", records).uri) / "run_results.json").read_text()
    assert "\\u001b]0;pwned" in raw  # the warehouse did quote the escapes: the record keeps dbt's artifact as is
    with dbt_kickoff.package(f"duckdb:///{database}", project, source_dataset_name="raw_data", records=False) \
            as runner, pytest.raises(DBTProcessingError) as caught:
        runner.build(["--select", "evil"])
    assert not CONTROL.search(str(caught.value).replace("\n", ""))
    assert not CONTROL.search((runner.last_report.results[0].message or "").replace("\n", ""))


def test_a_log_line_during_live_progress_is_printed_above_the_status_line() -> None:
    """On a terminal the status line is live; the CLI's log handler writes to whatever stderr is at the time,
    so a warning goes through rich's live display (printed above the status line), not glued onto it."""
    console = Console(file=io.StringIO(), force_terminal=True, width=100)
    handler = logging.StreamHandler(CurrentStderr())  # type: ignore[arg-type]
    log = logging.getLogger("dbt_kickoff.test_live")
    log.addHandler(handler)
    try:
        with NodeProgress(console):
            log.warning("dbt: a warning while nodes run")
    finally:
        log.removeHandler(handler)
    shown = console.file.getvalue()  # type: ignore[attr-defined]
    assert "dbt: a warning while nodes run\n" in shown
