"""Changed-only builds with the run records on S3 (moto's server on loopback): the last good run is found and
read there, nothing changed starts no dbt, a fresher source rebuilds only its downstream."""

from __future__ import annotations

from pathlib import Path

import duckdb

import dbt_kickoff
from dbt_kickoff.records import open_record
from tests.records.conftest import s3_options

FRESHNESS = """        loaded_at_field: "cast(created_at as timestamp)"
        freshness:
          warn_after: {count: 10000, period: day}
        columns:"""


def test_changed_only_with_records_on_s3(shop: tuple[Path, Path], moto_s3: str) -> None:
    import boto3

    boto3.client("s3", endpoint_url=moto_s3, region_name="us-east-1", aws_access_key_id="testing",
                 aws_secret_access_key="testing-secret").create_bucket(Bucket="changed-records")
    project, database = shop
    sources = project / "models" / "sources.yml"
    sources.write_text(sources.read_text().replace("        columns:", FRESHNESS))
    url = "s3://changed-records/shop"

    def runner() -> dbt_kickoff.PackageRunner:  # a new task process each time
        return dbt_kickoff.package(f"duckdb:///{database}", project, source_dataset_name="raw_data", records=url,
                                   records_options=s3_options(moto_s3), warm_start=False)

    with runner() as first:
        assert {r.reason for r in first.build(changed_only=True)} == {
            "no usable previous run: first run (no record of this package and target)"}
    first_record = open_record("latest", url, s3_options(moto_s3))
    assert first_record.uri == first.last_report.record
    with runner() as second:
        assert second.build(changed_only=True) == []
        assert second.session.engine is None  # records read from S3, freshness measured here: no dbt
        changes = second.last_report.changed
        assert changes is not None and changes.baseline == first_record.name
    assert second.last_report.record is None  # no dbt command ran: no record, the good run stays the baseline
    with duckdb.connect(str(database)) as con:
        con.execute("insert into raw_data.orders values (500, 'FR', 5.0, '2026-11-30')")
    with runner() as third:
        results = third.build(changed_only=True)
    assert {r.model_name: r.reason for r in results if r.resource_type == "model"} == {
        name: "source raw.orders fresher" for name in ("stg_orders", "revenue_by_country", "orders_incremental")}
    latest = open_record("latest", url, s3_options(moto_s3))
    assert latest.uri == third.last_report.record and latest.data["changed"]["baseline"] == first_record.name
