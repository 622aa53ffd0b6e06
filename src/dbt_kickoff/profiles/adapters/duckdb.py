"""DuckDB files and MotherDuck, both served by ``dbt-duckdb``.

URL forms::

    duckdb:///relative/path.duckdb          (relative to the current working directory)
    duckdb:////absolute/path.duckdb         (note the four slashes, as in SQLAlchemy and dlt)
    duckdb:///path.duckdb?schema=analytics
    md:my_db?motherduck_token=TOKEN         (DuckDB's own MotherDuck form)
    motherduck://TOKEN@my_db  or  motherduck:///my_db?token=TOKEN

Mapping fields: ``path`` (or ``database``), ``schema``; MotherDuck: ``database``/``path``, ``token``
(or ``motherduck_token``/``password``). A plain DuckDB profile never loads or downloads an extension.
``:memory:`` is refused: dbt runs in another process, so an in-memory database would be empty there.
MotherDuck needs DuckDB's ``motherduck`` extension; dbt-duckdb loads it at connect time, so install it
beforehand (``INSTALL motherduck``) on machines that run offline. The default schema is ``main``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.profiles.adapters.base import Adapter
from dbt_kickoff.profiles.fields import FieldReader
from dbt_kickoff.profiles.secrets import SecretEnv
from dbt_kickoff.profiles.urls import UrlParts

DEFAULT_SCHEMA = "main"
_NOT_A_FILE = (":memory:", ":external:", "")


def _duckdb_from_url(parts: UrlParts) -> dict[str, Any]:
    if parts.host:
        raise ConfigurationError(
            f"duckdb URL {parts.redacted} names a host; write duckdb:///relative.duckdb or "
            "duckdb:////absolute/path.duckdb"
        )
    return {"path": parts.path, **parts.query}


def _build_duckdb(f: FieldReader, secrets: SecretEnv) -> dict[str, Any]:
    path = str(f.get("path", "database", default=""))
    if path.startswith(("md:", "motherduck:")):
        raise ConfigurationError(
            f"duckdb destination {f.ctx.where} points at MotherDuck; use type 'motherduck' (or an md: URL)"
        )
    if path.strip() in _NOT_A_FILE or path.startswith(":memory:"):
        raise ConfigurationError(
            f"duckdb destination {f.ctx.where} has no database file (path {path or 'missing'!r}): dbt "
            "runs in another process, so an in-memory database would be empty there. Give a file, e.g. "
            "duckdb:///data.duckdb"
        )
    file = Path(path).expanduser()
    if not file.is_absolute():
        file = Path.cwd() / file  # resolved now: dbt runs in the package folder, not here
    if file.is_dir():
        raise ConfigurationError(f"duckdb destination {f.ctx.where}: {str(file)!r} is a folder, not a file")
    if not file.parent.is_dir():
        raise ConfigurationError(
            f"duckdb destination {f.ctx.where}: the folder of {str(file)!r} does not exist; create it first"
        )
    return {"type": "duckdb", "path": str(file), "schema": f.schema("schema", default=DEFAULT_SCHEMA)}


def _motherduck_from_url(parts: UrlParts) -> dict[str, Any]:
    query = dict(parts.query)
    token = query.pop("motherduck_token", None) or query.pop("token", None)
    token = token or parts.password or parts.username
    return {"database": parts.host or parts.path or None, "token": token, **query}


def _build_motherduck(f: FieldReader, secrets: SecretEnv) -> dict[str, Any]:
    database = str(f.get("database", "path", default="")).strip()
    for prefix in ("md:", "motherduck:"):
        if database.startswith(prefix):
            database = database[len(prefix):].lstrip("/")
    if "?" in database:
        raise ConfigurationError(
            f"motherduck destination {f.ctx.where}: give the token as the 'token' field, not inside the path"
        )
    output: dict[str, Any] = {"type": "duckdb", "path": f"md:{database}"}
    token = f.get("token", "motherduck_token", "password")
    if token is not None:
        output["motherduck_token"] = secrets.ref("MOTHERDUCK_TOKEN", token)
    output["schema"] = f.schema("schema", default=DEFAULT_SCHEMA)
    return output


DUCKDB = Adapter(
    name="duckdb",
    adapter_type="duckdb",
    packages=("dbt-duckdb",),
    build=_build_duckdb,
    from_url=_duckdb_from_url,
    schemes=("duckdb",),
    url_forms=("duckdb:///relative/path.duckdb", "duckdb:////absolute/path.duckdb?schema=SCHEMA"),
)

MOTHERDUCK = Adapter(
    name="motherduck",
    adapter_type="duckdb",
    packages=("dbt-duckdb",),
    build=_build_motherduck,
    from_url=_motherduck_from_url,
    schemes=("md", "motherduck"),
    aliases=("md",),
    url_forms=("md:DATABASE?motherduck_token=TOKEN", "motherduck://TOKEN@DATABASE"),
)
