"""``dbt-kickoff demo --cloud``: load the sample data with dlt, then run a dbt Cloud job and report its nodes.

dbt Cloud cannot be reached from a demo, so the job runs on the bundled emulator (a real HTTP server on
127.0.0.1) whose run artifacts describe the demo package's nodes. The client side is exactly what a real
account gets: trigger, poll (each node is printed as the run's logs show it finished), fetch ``run_results.json``
of the build step, turn it into node results; the run leaves its record in the demo's folder.
"""

from __future__ import annotations

import re
import secrets
import shutil
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from dbt_kickoff.cloud import DbtCloud, DbtCloudRunFailed, DbtCloudWaitTimeout
from dbt_kickoff.demo import DBT_PACKAGE_DIR
from dbt_kickoff.progress import NodeProgress, console_for

DEMO_ACCOUNT_ID = 1
DEMO_JOB_ID = 1001
DATASET_NAME = "raw_shop"
POLL_SECONDS = 1.0
_LAYERS = ("staging", "intermediate", "marts")


def demo_package_nodes(package_dir: Path = DBT_PACKAGE_DIR) -> list[str]:
    """Unique ids of the package's seeds, models (staging → intermediate → marts) and singular tests."""
    project = re.search(r"^name:\s*['\"]?([\w]+)", (package_dir / "dbt_project.yml").read_text(), re.M)
    name = project.group(1) if project else package_dir.name
    seeds = [f"seed.{name}.{p.stem}" for p in sorted((package_dir / "seeds").glob("*.csv"))]
    models_dir = package_dir / "models"
    models = sorted(
        models_dir.rglob("*.sql"),
        key=lambda p: (_LAYERS.index(p.parent.name) if p.parent.name in _LAYERS else len(_LAYERS), p.name),
    )
    tests = sorted((package_dir / "tests").glob("*.sql"))  # singular tests; generic ones live in generic/
    return seeds + [f"model.{name}.{p.stem}" for p in models] + [f"test.{name}.{p.stem}" for p in tests]


def run_cloud_demo(workdir: Path) -> int:
    """Load the sample data into ``workdir``/cloud-demo.duckdb with dlt, run the demo job on an in-process dbt
    Cloud emulator, and print one line per node. Returns an exit status (0 success, 1 job failure)."""
    from dbt_kickoff.cloud.emulator import DbtCloudEmulator, RunScript
    from dbt_kickoff.demo.data import load_sample_data

    console = console_for(highlight=False)
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    duckdb_path = workdir / "cloud-demo.duckdb"
    pipelines_dir = workdir / "cloud_demo_pipelines"
    # every run starts from the first day again, so the file does not grow with duplicate loads
    duckdb_path.unlink(missing_ok=True)
    shutil.rmtree(pipelines_dir, ignore_errors=True)
    with console.status("loading the sample shop data with dlt…"):
        load_sample_data(duckdb_path, DATASET_NAME, pipelines_dir=pipelines_dir)
    console.print(f"[green]loaded[/] the sample data into {duckdb_path} (dataset {DATASET_NAME})")

    token = f"dbtc_demo_{secrets.token_urlsafe(24)}"  # lives only in this process
    script = RunScript(
        queued_polls=0,
        starting_polls=0,
        running_polls=0,
        queued_seconds=1,
        starting_seconds=1,
        running_seconds=3,
        nodes=demo_package_nodes(),
    )
    with DbtCloudEmulator() as emulator:
        emulator.add_account(DEMO_ACCOUNT_ID, "Demo account")
        emulator.add_token(token, account_ids=[DEMO_ACCOUNT_ID])
        emulator.add_job(
            DEMO_ACCOUNT_ID,
            DEMO_JOB_ID,
            "Shop metrics",
            execute_steps=["dbt build"],
            generate_docs=True,
            script=script,
        )
        credentials = {"api_token": token, "account_id": DEMO_ACCOUNT_ID, "base_url": emulator.base_url}
        console.print(f"dbt Cloud emulator at {emulator.base_url}: triggering job {DEMO_JOB_ID}")
        records = workdir / "cloud-records"
        with DbtCloud(credentials, records=records) as cloud:
            run = cloud.trigger(DEMO_JOB_ID, {"cause": f"dlt load into {DATASET_NAME} finished"})
            try:
                with NodeProgress(console) as progress:  # each node as the run's logs show it finished
                    progress.note(f"run {run['id']}: {run['status_humanized']}")
                    run = cloud.wait(
                        run,
                        poll_interval=POLL_SECONDS,
                        timeout=120,
                        just_triggered=True,
                        on_poll=lambda r: progress.note(f"run {r['id']}: {r['status_humanized']}"),
                        on_event=progress,
                    )
            except (DbtCloudRunFailed, DbtCloudWaitTimeout) as exc:
                console.print(f"[bold red]{escape(str(exc))}[/]", markup=True)
                return 1
            results = cloud.node_results(run)
    table = Table(title=f"dbt Cloud run {run['id']}: {run['status_humanized']}")
    for column in ("node", "type", "status", "time", "rows"):
        table.add_column(column)
    for node in results:
        rows = "" if node.rows_affected is None else str(node.rows_affected)
        table.add_row(node.model_name, node.resource_type, node.status, f"{node.time:.2f}s", rows)
    console.print(table)
    failed = [n for n in results if n.is_failure]
    console.print(f"{len(results)} node(s), {len(failed)} failed")
    console.print("[dim]These node results are synthetic: the emulator does not run dbt; its artifacts list the "
                  "demo package's nodes with made-up timings. With a real dbt Cloud account the same client code "
                  "reports what dbt did.[/]")
    console.print(f"the run's record: dbt-kickoff report latest --records {records}")
    return 1 if failed else 0
