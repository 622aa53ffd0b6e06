"""``dbt-kickoff demo`` end to end, as a user runs it: a real process, dlt, dbt, DuckDB, offline."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from dbt_kickoff.cli.main import main
from dbt_kickoff.demo.data import generate_sample_data, load_sample_data

MODELS = {
    "stg_customers", "stg_products", "stg_sessions", "stg_events", "stg_orders", "stg_order_items",
    "int_orders_enriched", "fct_web_events", "daily_revenue", "customer_lifetime_value", "conversion_funnel",
    "product_performance",
}  # fmt: skip


def demo(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dbt_kickoff.cli.main", "demo", *args],
        cwd=cwd, capture_output=True, text=True, timeout=900,
    )  # fmt: skip


def events_in_model(database: Path) -> int:
    with duckdb.connect(str(database), read_only=True) as con:
        return int(con.execute("select count(*) from shop_metrics.fct_web_events").fetchone()[0])


@pytest.mark.slow
def test_demo_runs_loads_the_next_day_and_starts_over(tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    first = demo("--workdir", str(workdir), "--json", cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    report = json.loads(first.stdout)
    assert report["success"] is True
    assert report["load"]["number"] == 1
    assert len(report["load"]["load_ids"]) == 1
    assert report["load"]["rows"]["events"] == len(generate_sample_data().events)
    statuses = {r["unique_id"]: r["status"] for r in report["results"]}
    assert {uid.split(".")[-1] for uid in statuses if uid.startswith("model.")} == MODELS
    assert {s for uid, s in statuses.items() if not uid.startswith("test.")} == {"success"}
    assert sorted({s for uid, s in statuses.items() if uid.startswith("test.")}) == ["pass", "warn"]
    assert [s["command"].split()[0] for s in report["steps"]] == ["seed", "run", "test"]
    metrics = report["metrics"]
    assert len(metrics) == 4 and all(metrics.values())
    revenue = metrics["Revenue of the last 7 days (EUR)"]
    assert len(revenue) == 7 and all(float(day["revenue_eur"]) >= 0 for day in revenue)
    assert (workdir / "dbt_package" / "dbt_project.yml").is_file()  # ran on a copy of the bundled package
    assert events_in_model(workdir / "shop.duckdb") == len(generate_sample_data().events)

    second = demo("--workdir", str(workdir), cwd=tmp_path)  # for people: progress, tables
    assert second.returncode == 0, second.stderr[-3000:]
    assert "load #2" in second.stderr
    assert "fct_web_events" in second.stderr  # live progress, one line per node
    for title in ("dbt results", "Revenue of the last 7 days", "Conversion funnel by channel"):
        assert title in second.stdout
    # not a terminal: no table wraps at 80 columns, each node is one whole line
    rows = [line for line in second.stdout.splitlines() if "customer_lifetime_value" in line]
    assert rows and all("success" in line for line in rows)
    both = len(generate_sample_data().events) + len(generate_sample_data(batch=1).events)
    assert events_in_model(workdir / "shop.duckdb") == both

    again = demo("--workdir", str(workdir), "--json", "--fresh", cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert json.loads(again.stdout)["load"]["number"] == 1
    assert events_in_model(workdir / "shop.duckdb") == len(generate_sample_data().events)


def test_cloud_flag_rejects_local_only_options(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["demo", "--cloud", "--json", "--workdir", str(tmp_path)]) == 2
    assert "--cloud" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


@pytest.mark.slow
def test_failing_data_tests_exit_1_with_every_result(tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    assert demo("--workdir", str(workdir), "--json", cwd=tmp_path).returncode == 0
    # the first day loaded a second time: every event is there twice, so the unique tests must fail
    load_sample_data(workdir / "shop.duckdb", "raw_shop", pipelines_dir=workdir / "dlt", batch=0)
    failed = demo("--workdir", str(workdir), "--json", cwd=tmp_path)
    assert failed.returncode == 1, failed.stderr[-3000:]
    report = json.loads(failed.stdout)
    assert report["success"] is False
    failing = {r["model_name"] for r in report["results"] if r["status"] == "fail"}
    assert "source_unique_shop_events_event_id" in failing
    assert "source_unique_shop_events_event_id" in report["error"]
    assert report["metrics"] == {}
