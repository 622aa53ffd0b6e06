"""One real failing run on DuckDB, then: its HTML report in headless Chromium, its OpenLineage events (file
transport and a loopback HTTP receiver, facets checked against the schemas openlineage ships), and records on
moto's S3 server (and an unreachable one)."""

from __future__ import annotations

import json
import logging
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import dbt_kickoff
from dbt_kickoff.errors import DBTProcessingError
from dbt_kickoff.lineage import emit_for_record
from dbt_kickoff.records import open_record
from dbt_kickoff.report import report_data, write_html
from tests.records.conftest import break_model, chromium_args, free_port, s3_options


@pytest.fixture(scope="module")
def failed_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """A run_all whose stg_orders fails, recorded, with OpenLineage events written by the file transport."""
    from tests.core.conftest import SHOP_PROJECT, load_orders_duckdb

    root = tmp_path_factory.mktemp("run")
    project = root / "shop"
    import shutil

    shutil.copytree(SHOP_PROJECT, project)
    database = root / "warehouse.duckdb"
    load_orders_duckdb(database)
    break_model(project)
    events = root / "lineage.jsonl"
    config = {"transport": {"type": "file", "log_file_path": str(events), "append": True}}
    with dbt_kickoff.package(f"duckdb:///{database}", project, source_dataset_name="raw_data",
                             records=root / "records", openlineage=config) as runner, \
            pytest.raises(DBTProcessingError):
        runner.run_all()
    yield root / "records", events


def test_html_report_renders_in_chromium(failed_run: tuple[Path, Path], tmp_path: Path) -> None:
    records, _ = failed_run
    record = open_record("latest", records)
    html = write_html(record, tmp_path / "report.html")
    text = html.read_text()
    assert "<script src" not in text and "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    dom = subprocess.run([*chromium_args(tmp_path / "profile"), "--dump-dom", html.as_uri()],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    assert 'id="outcome"' in dom and ">failed<" in dom
    assert "stg_orders" in dom and "no_such_table" in dom  # the failure with dbt's message
    shown = report_data(record)
    assert len(shown.nodes) == 2  # the seed and the failing model ran; the skipped models have no timing
    assert dom.count('<rect class="node"') == len(shown.nodes)  # one bar per timed node
    assert dom.count('<rect class="step"') == 2 and dom.count('<rect class="lane"') == len(shown.lanes)
    assert 'id="critical-path"' in dom and 'id="slowest"' in dom
    png = tmp_path / "report.png"
    subprocess.run([*chromium_args(tmp_path / "profile"), f"--screenshot={png}", "--window-size=1300,1100",
                    "--hide-scrollbars", html.as_uri()], capture_output=True, timeout=120, check=True)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000  # a real picture, not a blank page


def test_openlineage_events_from_the_dbt_processor(failed_run: tuple[Path, Path]) -> None:
    _, events_file = failed_run
    events = [json.loads(line) for line in events_file.read_text().splitlines() if line.strip()]
    kinds = [(e["eventType"], e["job"]["name"]) for e in events]
    assert kinds[0] == ("START", "dbt-run-shop") and kinds[-1] == ("FAIL", "dbt-run-shop")
    by_job = {name: state for state, name in kinds}
    assert any(name.endswith("stg_orders") for name in by_job)
    failed = [e for e in events if e["job"]["name"].endswith("shop.stg_orders") and e["eventType"] == "FAIL"]
    assert failed, "the failing model has a FAIL event"
    stg_start = next(e for e in events if e["job"]["name"].endswith("shop.stg_orders") and e["eventType"] == "START")
    assert stg_start["outputs"] and stg_start["outputs"][0]["namespace"].startswith("duckdb://")
    assert stg_start["run"]["facets"]["parent"]["run"]["runId"] == events[0]["run"]["runId"]
    for event in events:
        assert event["eventTime"] and event["producer"].startswith("https://github.com/OpenLineage")
        assert event["schemaURL"].startswith("https://openlineage.io/spec/")
    _validate_dbt_facets(events)


def _validate_dbt_facets(events: list[dict[str, Any]]) -> None:
    """The dbt facets against the JSON schemas openlineage-integration-common ships. Those refer to the core
    spec (OpenLineage.json), which no installed package ships: its facet base is stood in for by what the
    spec requires of every facet (``_producer`` and ``_schemaURL``)."""
    import openlineage.common
    from referencing import Registry, Resource

    facet_base = {"type": "object", "required": ["_producer", "_schemaURL"],
                  "properties": {"_producer": {"type": "string", "format": "uri"},
                                 "_schemaURL": {"type": "string", "format": "uri"}}}
    core = {"$defs": {name: facet_base for name in ("BaseFacet", "RunFacet", "JobFacet", "DatasetFacet")}}
    registry: Registry = Registry().with_resources(
        (f"https://openlineage.io/spec/{version}/OpenLineage.json", Resource.from_contents(
            {"$schema": "https://json-schema.org/draft/2020-12/schema", **core}))
        for version in ("1-0-2", "2-0-2")
    )
    folder = Path(openlineage.common.__file__).parent / "schema"
    schemas = {name: json.loads((folder / f"{name}.json").read_text())
               for name in ("dbt-run-run-facet", "dbt-version-run-facet", "dbt-node-job-facet")}
    checked = 0
    for event in events:
        run_facets = {k: v for k, v in event["run"].get("facets", {}).items() if k in ("dbt_run", "dbt_version")}
        job_facets = {k: v for k, v in event["job"].get("facets", {}).items() if k == "dbt_node"}
        for facets, names in ((run_facets, ("dbt-run-run-facet", "dbt-version-run-facet")),
                              (job_facets, ("dbt-node-job-facet",))):
            for name in names:
                key = next(iter(schemas[name]["properties"]))
                if key in facets:
                    jsonschema.Draft202012Validator(schemas[name], registry=registry).validate({key: facets[key]})
                    checked += 1
    assert checked >= len(events)  # every event carries at least one dbt facet, and each one is valid


class _Receiver(BaseHTTPRequestHandler):
    received: list[dict[str, object]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Receiver.received.append({"path": self.path, "event": json.loads(body)})
        self.send_response(201)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_openlineage_over_http_to_a_loopback_receiver(failed_run: tuple[Path, Path]) -> None:
    records, events_file = failed_run
    record = open_record("latest", records)
    server = HTTPServer(("127.0.0.1", free_port()), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        sent = emit_for_record(Path(record.uri), record.data, f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
    expected = len(events_file.read_text().splitlines())
    assert sent == expected == len(_Receiver.received)
    assert all(item["path"] == "/api/v1/lineage" for item in _Receiver.received)


def test_records_on_s3_and_an_unreachable_s3(
    failed_run: tuple[Path, Path], moto_s3: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import boto3

    boto3.client("s3", endpoint_url=moto_s3, region_name="us-east-1", aws_access_key_id="testing",
                 aws_secret_access_key="testing-secret").create_bucket(Bucket="kickoff-records")
    import shutil

    from tests.core.conftest import SHOP_PROJECT, load_orders_duckdb

    project = tmp_path / "shop"
    shutil.copytree(SHOP_PROJECT, project)
    load_orders_duckdb(tmp_path / "w.duckdb")
    url = "s3://kickoff-records/shop"
    with dbt_kickoff.package(f"duckdb:///{tmp_path / 'w.duckdb'}", project, source_dataset_name="raw_data",
                             records=url, records_options=s3_options(moto_s3)) as runner:
        assert [r.status for r in runner.seed()] == ["success"]
        record = open_record("latest", url, s3_options(moto_s3))
        assert record.outcome == "success" and record.uri.startswith("s3://kickoff-records/shop/")
        assert "manifest.json" in record.store.files(record.name)
        html = write_html(record, tmp_path / "s3-report.html")
        assert "countries" in html.read_text()

        caplog.set_level(logging.WARNING)
        closed = f"http://127.0.0.1:{free_port()}"
        runner.record_settings = type(runner.record_settings)(
            records=url, storage_options={**s3_options(closed), "config_kwargs": {"retries": {"max_attempts": 1}}})
        assert [r.status for r in runner.seed()] == ["success"]
    assert runner.last_report.outcome == "success"
    assert len([r for r in caplog.records if "run record could not be written" in r.getMessage()]) == 1
