"""``dbt-kickoff demo``: load the sample shop data with dlt into DuckDB, run the bundled dbt package with the
Core runner, then print every node's result and a few of the metrics it computed.

Each run loads the next day: the first run loads two weeks of activity, every later run one more day (with the
events that arrived late and the orders that moved on), so the incremental model has new rows to pick up.
``fresh=True`` starts over. Everything lives in ``workdir``; nothing is downloaded. ``dbt_version`` runs dbt
from a cached venv (``"2"``: the dbt v2 engine, which needs its DuckDB driver: ``drivers=`` or
``ADBC_DRIVER_PATH``; the demo stages none and says how when it is missing).
"""

from __future__ import annotations

import json
import shutil
from contextlib import nullcontext
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from dbt_kickoff.demo import DBT_PACKAGE_DIR
from dbt_kickoff.errors import ConfigurationError, DBTProcessingError
from dbt_kickoff.results import NodeResult

DATABASE_FILE = "shop.duckdb"
PIPELINES_DIR = "dlt"
PACKAGE_DIR = "dbt_package"
SOURCE_DATASET = "raw_shop"
METRICS_DATASET = "shop_metrics"
STORAGE_FORMAT = "v1.5.0"
"""The DuckDB file format of a new demo database: DuckDB 1.5's, which the dbt v2 engine's DuckDB driver reads
(a newer Python ``duckdb`` writes a newer format by default; later writes keep the file's format)."""


@dataclass(frozen=True)
class Metric:
    """A small query on the marts, shown after the run."""

    title: str
    sql: str


METRICS = (
    Metric(
        "Revenue of the last 7 days (EUR)",
        "select order_date, orders, customers, units, revenue_eur, avg_order_value_eur "
        "from {schema}.daily_revenue order by order_date desc limit 7",
    ),
    Metric(
        "Top customers by lifetime value (EUR)",
        "select customer_id, full_name, country_code, orders, lifetime_revenue_eur "
        "from {schema}.customer_lifetime_value order by lifetime_revenue_eur desc, customer_id limit 5",
    ),
    Metric(
        "Conversion funnel by channel",
        "select channel, sum(sessions) as sessions, sum(product_view_sessions) as viewed_product, "
        "sum(add_to_cart_sessions) as added_to_cart, sum(checkout_sessions) as checked_out, "
        "sum(purchase_sessions) as purchased, "
        "round(cast(sum(purchase_sessions) as double) / sum(sessions), 4) as conversion_rate "
        "from {schema}.conversion_funnel group by channel order by sessions desc",
    ),
    Metric(
        "Best-selling products (EUR)",
        "select product_id, product_name, category, views, units_sold, revenue_eur "
        "from {schema}.product_performance order by revenue_eur desc, product_id limit 5",
    ),
)


def run_demo(
    workdir: Path,
    *,
    json_output: bool = False,
    fresh: bool = False,
    dbt_version: str | None = None,
    drivers: str | PathLike[str] | None = None,
    venv_dir: str | PathLike[str] | None = None,
) -> int:
    """Run the demo in ``workdir`` (created when absent). Returns the exit status: 0 success, 1 dbt failure.

    Human output (progress, tables) goes to the terminal; with ``json_output`` one JSON document with the
    load, every node result and the metric rows is printed on stdout instead. ``dbt_version``, ``drivers`` and
    ``venv_dir`` are :func:`~dbt_kickoff.get_venv`'s (dbt from a cached venv instead of this environment).
    """
    import dbt_kickoff
    from dbt_kickoff.demo.data import load_sample_data
    from dbt_kickoff.progress import NodeProgress, console_for

    if dbt_version is None and (drivers is not None or venv_dir is not None):
        raise ConfigurationError(
            "drivers and venv_dir (--drivers, --venv-dir) choose a cached venv: give dbt_version (--dbt-version) too"
        )
    venv = (
        dbt_kickoff.get_venv("duckdb", dbt_version=dbt_version, drivers=drivers, venv_dir=venv_dir)
        if dbt_version is not None else None
    )
    workdir = Path(workdir).resolve()
    console = console_for(highlight=False)
    status_console = console_for(stderr=True, highlight=False, quiet=json_output)
    database = workdir / DATABASE_FILE
    if fresh:
        _remove(database, database.with_name(database.name + ".wal"), workdir / PIPELINES_DIR)
    elif not database.exists():
        _remove(workdir / PIPELINES_DIR)  # dlt's local state must not outlive the data it describes
    batch = _completed_loads(database)
    _create_database(database)
    package_dir = _copy_package(workdir / PACKAGE_DIR)

    with status_console.status("loading the sample shop data with dlt…"):
        pipeline, load_info = load_sample_data(
            database, SOURCE_DATASET, pipelines_dir=workdir / PIPELINES_DIR, batch=batch
        )
    rows = _loaded_rows(pipeline)
    status_console.print(
        f"[green]loaded[/] load #{batch + 1} into {database} (dataset {SOURCE_DATASET}): "
        + ", ".join(f"{n} {t}" for t, n in rows.items())
    )

    progress = None if json_output else NodeProgress(status_console)
    runner = dbt_kickoff.package(pipeline, package_dir, dataset_name=METRICS_DATASET, on_event=progress, venv=venv)
    error: DBTProcessingError | None = None
    with runner, progress or nullcontext():
        try:
            runner.run_all()
        except DBTProcessingError as exc:
            error = exc
    results = runner.last_report.results
    metrics, row_counts = _read_metrics(database, results) if error is None else ({}, {})

    if json_output:
        print(_json_report(batch, rows, load_info, runner, results, metrics, error))
    else:
        console.print(_results_table(results, row_counts))
        for title, (columns, data) in metrics.items():
            console.print(_metric_table(title, columns, data))
        if error is not None:
            console.print(f"[bold red]dbt failed:[/] {escape(str(error))}")
        else:
            console.print(
                f"Run [bold]dbt-kickoff demo[/] again to load the next day; the data is in {database} "
                f"(raw: {SOURCE_DATASET}, metrics: {METRICS_DATASET})."
            )
    return 1 if error is not None else 0


def _remove(*paths: Path) -> None:
    for path in paths:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def _completed_loads(database: Path) -> int:
    """How many loads the demo database already holds (the next load's batch number)."""
    if not database.exists():
        return 0
    import duckdb

    with duckdb.connect(str(database), read_only=True) as connection:
        found = connection.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [SOURCE_DATASET, "_dlt_loads"],
        ).fetchone()
        if not found or not found[0]:
            return 0
        loads = connection.execute(
            f"select count(*) from {SOURCE_DATASET}._dlt_loads where status = 0"
        ).fetchone()
    return int(loads[0]) if loads else 0


def _create_database(database: Path) -> None:
    """Create the demo database, when absent, in a file format the dbt v2 engine's DuckDB driver reads."""
    if database.exists():
        return
    import duckdb

    database.parent.mkdir(parents=True, exist_ok=True)
    try:
        duckdb.connect(str(database), config={"storage_compatibility_version": STORAGE_FORMAT}).close()
    except duckdb.Error:  # a DuckDB older than that format writes an older one anyway
        database.unlink(missing_ok=True)


def _copy_package(target: Path) -> Path:
    """Copy the bundled package into ``target`` (writable even when the installed one is not).

    dbt's caches (``target/``, ``dbt_packages/``) are kept, so partial parsing still works on the next run.
    """
    keep = {"target", "dbt_packages", "logs"}
    if target.exists():
        for child in target.iterdir():
            if child.name not in keep:
                _remove(child)
    for source in DBT_PACKAGE_DIR.rglob("*"):
        if source.is_file() and "__pycache__" not in source.parts:
            destination = target / source.relative_to(DBT_PACKAGE_DIR)
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(source.read_bytes())
    return target


def _loaded_rows(pipeline: Any) -> dict[str, int]:
    """Rows per table of the pipeline's last load (from dlt's own trace)."""
    trace = getattr(pipeline, "last_trace", None)
    normalize = getattr(trace, "last_normalize_info", None)
    counts = getattr(normalize, "row_counts", None) or {}
    return {table: int(n) for table, n in counts.items() if not table.startswith("_dlt")}


Rows = list[tuple[Any, ...]]


def _read_metrics(
    database: Path, results: list[NodeResult]
) -> tuple[dict[str, tuple[list[str], Rows]], dict[str, int]]:
    """The metric queries' columns and rows, and the row count of every model the run built."""
    import duckdb

    metrics = {}
    row_counts = {}
    with duckdb.connect(str(database), read_only=True) as connection:
        for metric in METRICS:
            cursor = connection.execute(metric.sql.format(schema=METRICS_DATASET))
            columns = [d[0] for d in cursor.description or ()]
            metrics[metric.title] = (columns, cursor.fetchall())
        for r in results:
            if r.resource_type == "model" and r.status == "success":
                count = connection.execute(
                    f'select count(*) from {METRICS_DATASET}."{r.model_name}"'
                ).fetchone()
                row_counts[r.model_name] = int(count[0]) if count else 0
    return metrics, row_counts


def _metric_table(title: str, columns: list[str], rows: Rows) -> Table:
    table = Table(title=title)
    for column in columns:
        table.add_column(
            column, justify="left" if column.endswith(("name", "channel", "category")) else "right"
        )
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    return table


def _results_table(results: list[NodeResult], row_counts: dict[str, int]) -> Table:
    """A row per seed, model and snapshot (with its row count), a row per test that did not pass, and a row
    summing up all tests."""
    from dbt_kickoff.progress import STATUS_STYLES

    tests = [r for r in results if r.resource_type == "test"]
    table = Table(title=f"dbt results ({_summary(results)})")
    for column in ("node", "type", "status", "time (s)", "rows", "message"):
        table.add_column(
            column, overflow="fold", justify="right" if column in ("time (s)", "rows") else "left"
        )
    for r in results:
        if r.resource_type != "test" or r.status != "pass":
            style = STATUS_STYLES.get(r.status, "")
            rows = r.rows_affected if r.rows_affected is not None else row_counts.get(r.model_name)
            rows_text = "" if rows is None else str(rows)
            table.add_row(
                r.model_name,
                r.resource_type,
                f"[{style}]{r.status}[/]",
                f"{r.time:.2f}",
                rows_text,
                _short(r.message),
            )
    if tests:
        table.add_row(
            f"{len(tests)} data tests", "test", _summary(tests), f"{sum(t.time for t in tests):.2f}", "", ""
        )
    return table


def _short(message: str | None, limit: int = 80) -> str:
    text = " ".join((message or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _summary(results: list[NodeResult]) -> str:
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    return ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))


def _json_report(
    batch: int,
    rows: dict[str, int],
    load_info: Any,
    runner: Any,
    results: list[NodeResult],
    metrics: dict[str, tuple[list[str], Rows]],
    error: DBTProcessingError | None,
) -> str:
    return json.dumps(
        {
            "success": error is None,
            "error": str(error) if error is not None else None,
            "load": {
                "number": batch + 1,
                "load_ids": list(getattr(load_info, "loads_ids", [])),
                "rows": rows,
            },
            "destination_dataset": METRICS_DATASET,
            "dbt_version": runner.dbt_version,
            "steps": [
                {
                    "command": s.command,
                    "duration": round(s.duration, 3),
                    "full_refresh_retry": s.full_refresh_retry,
                }
                for s in runner.last_report.steps
            ],
            "results": [r.to_dict() for r in results],
            "metrics": {
                title: [dict(zip(columns, row, strict=True)) for row in data]
                for title, (columns, data) in metrics.items()
            },
        },
        indent=2,
        default=str,
    )
