"""ClickHouse (``dbt-clickhouse``).

URL forms::

    clickhouse://USER:PASSWORD@HOST:8123/DATABASE               (HTTP driver; 8443 with ?secure=true)
    clickhouse+native://USER:PASSWORD@HOST:9000/DATABASE?secure=false

In dbt-clickhouse the ``schema`` is the ClickHouse database: it is ``dataset_name`` when given, else the URL
path / ``schema`` / ``database`` field, else ``default``. A dlt pipeline's dataset is a table-name prefix
inside that database, so it becomes ``source_dataset_name`` only. The password becomes a
``DBT_ENV_SECRET_*`` variable. ``connect_timeout`` defaults to 10 s.
"""

from __future__ import annotations

from typing import Any

from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.profiles.adapters.base import Adapter
from dbt_kickoff.profiles.fields import FieldReader, Origin
from dbt_kickoff.profiles.secrets import SecretEnv
from dbt_kickoff.profiles.urls import UrlParts

DEFAULT_DATABASE = "default"
DEFAULT_CONNECT_TIMEOUT = 10
_PORTS = {("http", False): 8123, ("http", True): 8443, ("native", False): 9000, ("native", True): 9440}


def _from_url(parts: UrlParts) -> dict[str, Any]:
    segments = parts.path_segments
    if len(segments) > 1:
        raise ConfigurationError(f"{parts.scheme} URL {parts.redacted}: the path is just the DATABASE")
    fields: dict[str, Any] = {
        "user": parts.username,
        "password": parts.password,
        "host": parts.host,
        "port": parts.port,
        "schema": segments[0] if segments else None,
        **parts.query,
    }
    if parts.scheme.endswith("+native"):
        fields["driver"] = "native"
    return fields


def _build(f: FieldReader, secrets: SecretEnv) -> dict[str, Any]:
    driver = f.text("driver", default="http")
    if driver not in ("http", "native"):
        raise ConfigurationError(f"clickhouse destination {f.ctx.where}: driver must be http or native")
    secure = bool(f.boolean("secure", default=False))
    if f.ctx.origin is Origin.DLT and driver == "http":
        port = f.integer("http_port", low=1, high=65535) or _PORTS[(driver, secure)]
        f.get("port")  # dlt's `port` is the native port
    else:
        port = f.port(_PORTS[(driver, secure)])
    output: dict[str, Any] = {
        "type": "clickhouse",
        "driver": driver,
        "host": str(f.require("host", hint="e.g. clickhouse://user:password@host:8123/database")),
        "port": port,
        "user": f.text("user", "username", default="default"),
        "schema": f.ctx.dataset or f.text("schema", "database", default=DEFAULT_DATABASE),
        "secure": secure,
    }
    password = f.get("password")
    if password is not None:
        output["password"] = secrets.ref("PASSWORD", password)
    verify = f.boolean("verify")
    if verify is not None:
        output["verify"] = verify
    timeout = f.ctx.connect_timeout
    output["connect_timeout"] = (
        max(1, round(timeout)) if timeout is not None
        else f.integer("connect_timeout", default=DEFAULT_CONNECT_TIMEOUT, low=1)
    )
    for name in ("send_receive_timeout", "cluster"):
        value = f.get(name)
        if value is not None:
            output[name] = value
    return output


CLICKHOUSE = Adapter(
    name="clickhouse",
    adapter_type="clickhouse",
    packages=("dbt-clickhouse",),
    build=_build,
    from_url=_from_url,
    schemes=("clickhouse", "clickhouse+http", "clickhouse+native"),
    url_forms=("clickhouse://USER:PASSWORD@HOST:8123/DATABASE?secure=true",
               "clickhouse+native://USER:PASSWORD@HOST:9000/DATABASE"),
)
