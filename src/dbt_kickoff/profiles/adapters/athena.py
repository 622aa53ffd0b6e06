"""Amazon Athena (``dbt-athena-community``).

URL forms (PyAthena's)::

    athena://AWS_ACCESS_KEY_ID:AWS_SECRET_ACCESS_KEY@athena.REGION.amazonaws.com/SCHEMA?s3_staging_dir=s3://bucket/path/&work_group=primary
    athena:///SCHEMA?region_name=eu-west-1&s3_staging_dir=s3://bucket/path/   (AWS default credential chain)

``awsathena+rest://`` is accepted too. Query parameters: ``s3_staging_dir``, ``region_name``, ``work_group``,
``catalog`` (dbt's ``database``, default ``awsdatacatalog``), ``aws_profile_name``, ``s3_data_dir``,
``num_retries``. Mapping fields are dbt's or dlt's (``query_result_bucket``, ``athena_work_group``,
``aws_data_catalog``, ``profile_name``). Access keys and session tokens become ``DBT_ENV_SECRET_*``
variables. The default schema is ``default``.
"""

from __future__ import annotations

import re
from typing import Any

from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.profiles.adapters.base import Adapter
from dbt_kickoff.profiles.fields import FieldReader
from dbt_kickoff.profiles.secrets import SecretEnv
from dbt_kickoff.profiles.urls import UrlParts

DEFAULT_SCHEMA = "default"
DEFAULT_CATALOG = "awsdatacatalog"
_HOST_REGION = re.compile(r"^athena\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")


def _from_url(parts: UrlParts) -> dict[str, Any]:
    query = dict(parts.query)
    region = query.pop("region_name", None)
    if parts.host:
        match = _HOST_REGION.match(parts.host.lower())
        if not match:
            raise ConfigurationError(
                f"athena URL {parts.redacted}: the host must be athena.REGION.amazonaws.com (or leave it "
                "out and give ?region_name=REGION)"
            )
        region = region or match.group(1)
    segments = parts.path_segments
    if len(segments) > 1:
        raise ConfigurationError(f"athena URL {parts.redacted}: the path is just the SCHEMA")
    catalog = query.pop("catalog", None) or query.pop("catalog_name", None)
    return {
        "aws_access_key_id": parts.username,
        "aws_secret_access_key": parts.password,
        "region_name": region,
        "schema": segments[0] if segments else None,
        "database": catalog,
        **query,
    }


def _build(f: FieldReader, secrets: SecretEnv) -> dict[str, Any]:
    output: dict[str, Any] = {
        "type": "athena",
        "s3_staging_dir": str(f.require("s3_staging_dir", "query_result_bucket", hint="e.g. s3://bucket/dbt/")),
        "region_name": str(f.require("region_name", hint="e.g. ?region_name=eu-west-1")),
        "database": f.text("database", "aws_data_catalog", default=DEFAULT_CATALOG),
        "schema": f.schema("schema", default=DEFAULT_SCHEMA),
    }
    work_group = f.text("work_group", "athena_work_group")
    if work_group:
        output["work_group"] = work_group
    key_id, secret = f.get("aws_access_key_id"), f.get("aws_secret_access_key")
    if (key_id is None) != (secret is None):
        raise ConfigurationError(
            f"athena destination {f.ctx.where}: give both aws_access_key_id and aws_secret_access_key, or "
            "neither (to use the AWS default credential chain or aws_profile_name)"
        )
    if key_id is not None:
        output["aws_access_key_id"] = secrets.ref("AWS_ACCESS_KEY_ID", key_id)
        output["aws_secret_access_key"] = secrets.ref("AWS_SECRET_ACCESS_KEY", secret)
    session_token = f.get("aws_session_token")
    if session_token is not None:
        output["aws_session_token"] = secrets.ref("AWS_SESSION_TOKEN", session_token)
    profile_name = f.text("aws_profile_name", "profile_name")
    if profile_name:
        output["aws_profile_name"] = profile_name
    for name in ("s3_data_dir", "s3_data_naming", "num_retries", "spark_work_group"):
        value = f.get(name)
        if value is not None:
            output[name] = value
    return output


ATHENA = Adapter(
    name="athena",
    adapter_type="athena",
    packages=("dbt-athena-community",),
    build=_build,
    from_url=_from_url,
    schemes=("athena", "awsathena+rest"),
    url_forms=(
        "athena://KEY_ID:SECRET@athena.REGION.amazonaws.com/SCHEMA?s3_staging_dir=s3://BUCKET/PATH/",
        "athena:///SCHEMA?region_name=REGION&s3_staging_dir=s3://BUCKET/PATH/&work_group=WG",
    ),
)
