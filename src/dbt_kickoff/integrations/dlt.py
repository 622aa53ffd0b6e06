"""Turn a dlt ``Pipeline`` into a destination mapping (``type``, ``credentials``, ``dataset_name``).

dlt is an optional extra: it is imported only when a dlt object is passed. The destination type, the
resolved credentials and the dataset come from the pipeline's destination client configuration, so they are
exactly what dlt loaded with (DuckDB files default to ``<pipeline_name>.duckdb`` in the working directory
where the pipeline was created, relative paths resolved as dlt resolves them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dbt_kickoff.errors import PrerequisitesException

# destination-configuration fields (outside `credentials`) that adapters read
_CONFIG_FIELDS = ("location", "query_result_bucket", "athena_work_group", "aws_data_catalog", "http_port")


def is_dlt_object(value: Any) -> bool:
    """True for instances of dlt classes (checked without importing dlt)."""
    return any(cls.__module__.split(".")[0] == "dlt" for cls in type(value).__mro__)


def dlt_destination_type(value: Any) -> str:
    """The destination type of a dlt ``Pipeline`` or destination factory (``"duckdb"``, ``"mssql"``...)."""
    destination = getattr(value, "destination", value) if _is_pipeline(value) else value
    if destination is None:
        raise PrerequisitesException(
            f"dlt pipeline {getattr(value, 'pipeline_name', '?')!r} has no destination; create it with "
            "dlt.pipeline(..., destination='duckdb') (or your destination) before running dbt"
        )
    # destination_type is "dlt.destinations.<type>"; destination_name may be a user-chosen name
    kind = getattr(destination, "destination_type", None)
    if not kind:
        raise PrerequisitesException(f"{type(value).__name__} is not a dlt pipeline or destination")
    return str(kind).rsplit(".", 1)[-1]


def _is_pipeline(value: Any) -> bool:
    return hasattr(value, "pipeline_name") and hasattr(value, "destination_client")


def destination_from_dlt(value: Any) -> dict[str, Any]:
    """``{"type", "credentials", "dataset_name", "_where"}`` for a dlt pipeline.

    Raises :class:`PrerequisitesException` when ``value`` is not a pipeline, has no destination or dataset, or
    dlt cannot resolve its credentials (the message names what is missing, never a secret value).
    """
    if not _is_pipeline(value):
        raise PrerequisitesException(
            f"a dlt {type(value).__name__} alone is not enough: pass the dlt Pipeline (it knows the "
            "destination, its credentials and the dataset)"
        )
    name = value.pipeline_name
    dlt_destination_type(value)  # raises when there is no destination
    try:
        client = value.destination_client()
        config = client.config
    except Exception as exc:  # dlt raises its own exception types; their text names fields, not values
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise PrerequisitesException(
            f"dlt pipeline {name!r}: dlt could not resolve its destination configuration ({first_line}). "
            "Configure the destination credentials as dlt expects (secrets.toml, environment or the "
            "destination factory) before running dbt"
        ) from None
    dataset = _normalized_dataset(client) or value.dataset_name
    if not dataset:
        raise PrerequisitesException(
            f"dlt pipeline {name!r} has no dataset_name; create it with dlt.pipeline(..., dataset_name='...')"
        )
    credentials = _flatten(getattr(config, "credentials", None))
    for field in _CONFIG_FIELDS:
        if getattr(config, field, None) is not None and field not in credentials:
            credentials[field] = getattr(config, field)
    return {
        "type": getattr(config, "destination_type", None) or dlt_destination_type(value),
        "credentials": credentials,
        "dataset_name": str(dataset),
        "_where": f"(dlt pipeline {name!r})",
    }


def _normalized_dataset(client: Any) -> str | None:
    """The dataset name as it exists in the destination (dlt normalizes e.g. "Raw Events" to "raw_events")."""
    config = client.config
    normalize = getattr(config, "normalize_dataset_name", None)
    if callable(normalize) and getattr(client, "schema", None) is not None:
        try:
            return str(normalize(client.schema)) or None
        except Exception:  # a destination without dataset normalization: fall back to the configured name
            pass
    name = getattr(config, "dataset_name", None)
    return str(name) if name else None


def _flatten(credentials: Any) -> dict[str, Any]:
    """Credential fields as a dict; nested credential objects and a ``query`` dict are merged in."""
    if credentials is None:
        return {}
    if not (isinstance(credentials, Mapping) or hasattr(credentials, "items")):
        return {}
    items = dict(credentials.items())
    flat: dict[str, Any] = {}
    nested: dict[str, Any] = {}
    for key, item in items.items():
        if key == "query" and isinstance(item, Mapping):
            nested.update({str(k): v for k, v in item.items()})
        elif is_dlt_object(item) and hasattr(item, "items"):
            nested.update(_flatten(item))
        elif key in ("has_default_credentials",) or callable(item):
            continue
        else:
            flat[str(key)] = item
    if hasattr(credentials, "has_default_credentials"):
        flat["_has_default_credentials"] = bool(credentials.has_default_credentials())
    return {**nested, **flat}
