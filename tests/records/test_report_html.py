"""The HTML report and the history page, rendered by headless Chromium: five real builds of the shop package
(three good, two failing) give the records; a synthetic 1,000-model record checks the page at size.
Screenshots are kept as test artifacts (``$DBT_KICKOFF_TEST_ARTIFACTS``, default ``test-artifacts/``)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from bench.synthetic_record import synthetic_record

import dbt_kickoff
from dbt_kickoff.errors import DBTProcessingError
from dbt_kickoff.records import Record, RecordStore, open_record
from dbt_kickoff.report import build_report_data, render_html, report_data, write_html
from tests.core.conftest import SHOP_PROJECT, load_orders_duckdb
from tests.records.conftest import chromium_args

ARTIFACTS = Path(os.environ.get("DBT_KICKOFF_TEST_ARTIFACTS", Path(__file__).parents[2] / "test-artifacts"))
WARN_TEST = "{{ config(severity='warn') }}\nselect * from {{ source('raw', 'orders') }} where amount > 0\n"
EXTERNAL = re.compile(r"""(?:src|href|action)\s*=\s*["']?(?:https?:)?//|url\(\s*["']?(?:https?:)?//|@import""")


def dump_dom(page: Path, profile: Path) -> str:
    return subprocess.run([*chromium_args(profile), "--dump-dom", page.as_uri()], capture_output=True, text=True,
                          timeout=180, check=True).stdout


def screenshot(page: Path, profile: Path, name: str, size: str = "1300,2000") -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    png = ARTIFACTS / name
    subprocess.run([*chromium_args(profile), f"--screenshot={png}", f"--window-size={size}", "--hide-scrollbars",
                    page.as_uri()], capture_output=True, timeout=180, check=True)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000  # a real picture, not a blank page
    return png


def no_external_reference(html: str) -> None:
    assert not EXTERNAL.search(html), EXTERNAL.search(html)
    assert "<script src" not in html and "<link" not in html


@pytest.fixture(scope="module")
def shop_records(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Five builds of the shop package in one store: three good ones, then two in which stg_orders fails
    (everything downstream is skipped); a warning test warns in each."""
    root = tmp_path_factory.mktemp("history")
    project = root / "shop"
    shutil.copytree(SHOP_PROJECT, project)
    (project / "tests" / "orders_present.sql").write_text(WARN_TEST)
    database = root / "warehouse.duckdb"
    load_orders_duckdb(database)
    records = root / "records"
    with dbt_kickoff.package(f"duckdb:///{database}", project, source_dataset_name="raw_data",
                             records=records) as runner:
        for number in range(5):
            broken = number >= 3
            try:
                runner.build(additional_vars={"break_model": True} if broken else None)
            except DBTProcessingError:
                assert broken
    yield records


def test_the_report_of_a_failure_in_chromium(shop_records: Path, tmp_path: Path) -> None:
    record = open_record("latest", shop_records)
    page = write_html(record, tmp_path / "report.html")
    html = page.read_text()
    no_external_reference(html)
    dom = dump_dom(page, tmp_path / "profile")
    assert 'id="outcome"' in dom and ">failed<" in dom
    results = record.report.results
    for result in results:  # every node is named, in the node table at least
        assert f">{result.model_name}<" in dom
    assert f'id="shown">{len(results)}<' in dom  # the filter script ran over every row
    skipped = [r.model_name for r in results if r.status == "skipped"]
    assert {"revenue_by_country", "orders_incremental"} <= set(skipped)
    section = dom[dom.index('id="skipped"'):dom.index('id="warnings"')]
    assert "stg_orders" in section and all(name in section for name in skipped)  # what the failure took down
    warnings = dom[dom.index('id="warnings"'):dom.index("Timeline")]
    assert "orders_present" in warnings and "configured to warn" in warnings
    assert "this_table_does_not_exist" in dom  # dbt's whole message
    resume = f"dbt-kickoff retry {Path(record.uri).resolve()}"
    assert resume in dom and 'id="dbt-log" href="dbt.log"' not in dom  # written elsewhere: a relative path
    assert 'id="dbt-log"' in dom
    assert dom.count('<rect class="node"') == len(report_data(record).nodes)
    assert "path to the failure" in dom.lower()
    screenshot(page, tmp_path / "profile", "report-shop-failure.png")


def test_the_history_page_over_five_records(shop_records: Path, tmp_path: Path) -> None:
    output = tmp_path / "history.html"
    done = subprocess.run([sys.executable, "-m", "dbt_kickoff.cli.main", "report", "--history", "--records",
                           str(shop_records), "--last", "5", "--output", str(output)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "5 run(s), 2 failed" in done.stderr
    assert "failing 2 run(s) in a row: model stg_orders" in done.stderr
    html = output.read_text()
    no_external_reference(html)
    dom = dump_dom(output, tmp_path / "profile")
    assert dom.count('<rect class="run"') == 5
    streaks = dom[dom.index('id="streak-table"'):dom.index('id="growing"')]
    assert ">stg_orders<" in streaks and "<b>2</b>" in streaks
    names = {r.model_name for record in _all(shop_records) for r in record.report.results}
    assert names and all(f">{name}<" in dom for name in names)
    assert f'id="shown">{len(names)}<' in dom
    screenshot(output, tmp_path / "profile", "history-shop.png", "1300,1600")


def _all(records: Path) -> list[Record]:
    store = RecordStore(records)
    return [open_record(name, records) for name in store.names()]


def test_a_thousand_model_report_in_chromium(tmp_path: Path) -> None:
    data, manifest = synthetic_record(1000, failing=(137, 420))
    shown = build_report_data("synthetic", data, manifest, "/records/synthetic")
    page = tmp_path / "big.html"
    page.write_text(render_html(shown, log_href="dbt.log"), encoding="utf-8")
    no_external_reference(page.read_text())
    dom = dump_dom(page, tmp_path / "profile")
    assert f'id="shown">{len(shown.rows)}<' in dom and len(shown.rows) == 2005
    assert dom.count('<rect class="node"') == len(shown.nodes)
    assert all(f">{row.result.model_name}<" in dom for row in shown.rows)
    failures = shown.outcome.failures if shown.outcome else []
    assert "m0137" in {f.result.model_name for f in failures} and all(f.took_down for f in failures)
    assert 'class="phase"' in dom and "start-up &amp; parse" in dom  # dbt's start as one labelled segment
    assert 'class="label"' in dom  # bars wide enough carry their node's name
    screenshot(page, tmp_path / "profile", "report-1000-models.png", "1300,1400")
