"""Turn any accepted destination (dlt pipeline, URL, mapping, None) into a :class:`Profile`."""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.profiles.adapters import adapter_for_scheme, adapter_for_type, supported_schemes
from dbt_kickoff.profiles.adapters.base import Adapter
from dbt_kickoff.profiles.fields import Context, FieldReader, Origin
from dbt_kickoff.profiles.model import Profile
from dbt_kickoff.profiles.secrets import SecretEnv, hide_secrets
from dbt_kickoff.profiles.urls import parse_url, redact_url, url_scheme
from dbt_kickoff.validation import did_you_mean

DEFAULT_THREADS = 4


def dbt_packages_for(destination_type: str) -> tuple[str, ...]:
    """The pip distributions dbt needs for a destination type (``"mssql"`` -> ``("dbt-sqlserver",)``)."""
    return adapter_for_type(destination_type).packages


def resolve_destination(
    destination: Any,
    *,
    dataset_name: str | None = None,
    threads: int | None = None,
    connect_timeout: float | None = None,
) -> Profile | None:
    """Build the dbt profile for ``destination``.

    ``destination`` is ``None`` (returns ``None``: use the package's own profiles.yml), a dlt ``Pipeline``, a
    URL string (see the adapter modules for each form), a ``Path`` to a DuckDB file, a mapping shaped like a
    dbt profile output with a ``type`` key (or dlt-shaped: ``type``, ``credentials``, ``dataset_name``), or a
    ready :class:`Profile`. ``dataset_name`` overrides the schema dbt builds into; ``threads`` defaults to 4;
    ``connect_timeout`` (seconds) bounds connecting where the adapter supports it.
    Raises :class:`ConfigurationError` (never showing a secret) when the input cannot work.
    """
    if destination is None:
        return None
    if isinstance(destination, Profile):
        return destination.with_schema(dataset_name) if dataset_name else destination
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ConfigurationError(f"threads must be a positive integer, got {threads!r}")
    if connect_timeout is not None and not connect_timeout > 0:
        raise ConfigurationError(f"connect_timeout must be a positive number of seconds: {connect_timeout!r}")
    if isinstance(destination, str):
        return _from_url(destination, dataset_name, threads, connect_timeout)
    if isinstance(destination, os.PathLike):
        fields = {"path": os.fspath(destination)}
        return _build(adapter_for_type("duckdb"), fields, Origin.MAPPING, f"path {os.fspath(destination)!r}",
                      dataset_name, None, threads, connect_timeout)
    if isinstance(destination, Mapping):
        return _from_mapping(destination, dataset_name, threads, connect_timeout)
    from dbt_kickoff.integrations.dlt import destination_from_dlt, is_dlt_object

    if is_dlt_object(destination):
        return _from_mapping(destination_from_dlt(destination), dataset_name, threads, connect_timeout)
    raise ConfigurationError(
        f"unsupported destination of type {type(destination).__name__}: pass a dlt Pipeline, a connection "
        "URL (e.g. duckdb:///data.duckdb or postgresql://user:password@host:5432/dbname), a mapping with a "
        "'type' key, or None to use the package's own profiles.yml"
    )


def _from_url(url: str, dataset: str | None, threads: int | None, timeout: float | None) -> Profile:
    scheme = url_scheme(url)
    if scheme is None or len(scheme) == 1:  # a bare path, or a Windows drive letter
        shown = redact_url(url)
        raise ConfigurationError(
            f"destination {shown!r} is not a URL; {_url_hint(url, shown)} "
            f"(supported schemes: {', '.join(supported_schemes())})"
        )
    adapter = adapter_for_scheme(scheme, redact_url(url))
    parts = parse_url(url)
    fields = adapter.from_url(parts)
    return _build(adapter, fields, Origin.URL, parts.redacted, dataset, None, threads, timeout)


def _url_hint(url: str, shown: str) -> str:
    """What the user probably meant: a scheme whose ``:`` is missing (``duckdb//wh/x.duckdb``), else a DuckDB
    file at that path."""
    word, slashes, rest = url.strip().partition("//")
    if slashes and word.lower() in supported_schemes():
        fixed = f"{word}:///{rest.lstrip('/')}" if word.lower() == "duckdb" else f"{word}://{rest}"
        return f"did you mean {redact_url(fixed)}?"
    if shown != url:
        return "write e.g. duckdb:///path/to/file.duckdb for a DuckDB file"
    return f"write e.g. duckdb:///{Path(url).as_posix()} for a DuckDB file"


def _from_mapping(
    mapping: Mapping[str, Any], dataset: str | None, threads: int | None, timeout: float | None
) -> Profile:
    fields = {str(k): v for k, v in mapping.items()}
    kind = fields.pop("type", None)
    if not kind:
        raise ConfigurationError(
            f"destination mapping has no 'type' key (it has: {', '.join(sorted(fields)) or 'nothing'}); "
            "add e.g. type: postgres"
        )
    adapter = adapter_for_type(str(kind))
    where = str(fields.pop("_where", "(mapping)"))
    source_dataset = fields.pop("dataset_name", None)
    origin = Origin.MAPPING
    credentials = fields.pop("credentials", None)
    if credentials is not None:  # dlt-shaped: type + credentials + dataset_name
        if not isinstance(credentials, Mapping):
            raise ConfigurationError(f"{adapter.name} destination {where}: 'credentials' must be a mapping")
        fields = {**fields, **{str(k): v for k, v in credentials.items()}}
        origin = Origin.DLT
    if threads is None and "threads" in fields:
        threads = _threads(fields.pop("threads"), where)
    fields.pop("threads", None)
    return _build(adapter, fields, origin, where, dataset, source_dataset, threads, timeout)


def _threads(value: Any, where: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number < 1:
        raise ConfigurationError(f"destination {where}: threads must be a positive integer")
    return number


# fields every destination mapping may carry besides its adapter's own
_COMMON_FIELDS = {"type", "threads", "credentials", "dataset_name"}


def _refuse_misspelt(key: str, known: set[str], destination_type: str, where: str) -> None:
    """A field dbt-kickoff does not know passes through to dbt, unless it looks like a typo of a known one."""
    close = [name for name in difflib.get_close_matches(key, sorted(known), n=3, cutoff=0.8)
             if abs(len(name) - len(key)) <= 2]  # "sslpassword" is a real dbt field, not a typo of "password"
    if close and close[0] != key:
        raise ConfigurationError(
            f"{destination_type} destination {where}: unknown field {key!r}; did you mean {close[0]!r}? "
            f"(fields {destination_type} reads: {', '.join(sorted(known - _COMMON_FIELDS))})"
        )


def _build(
    adapter: Adapter,
    fields: Mapping[str, Any],
    origin: Origin,
    where: str,
    dataset: str | None,
    source_dataset: Any,
    threads: int | None,
    timeout: float | None,
) -> Profile:
    source = str(source_dataset) if source_dataset else None
    ctx = Context(adapter.name, origin, where, dataset, source, timeout)
    reader = FieldReader(fields, ctx)
    secrets = SecretEnv()
    output = adapter.build(reader, secrets)
    leftovers = reader.leftovers()
    known = reader.known() | set(output) | _COMMON_FIELDS
    if origin is Origin.URL and leftovers:
        first = min(leftovers)
        raise ConfigurationError(
            f"{adapter.name} URL {where}: unknown parameter(s) {', '.join(sorted(leftovers))}"
            f"{did_you_mean(first, known)}; documented forms: {'; '.join(adapter.url_forms)}"
        )
    if origin is Origin.MAPPING:
        for key, value in leftovers.items():
            _refuse_misspelt(key, known, adapter.name, where)
            if key not in output:
                output[key] = hide_secrets(key, value, secrets)
    output["threads"] = threads or DEFAULT_THREADS
    return Profile(
        adapter_type=adapter.adapter_type,
        output=output,
        secret_env=secrets.values,
        source_dataset_name=source,
        destination_type=adapter.name,
        dbt_packages=adapter.packages,
    )
