"""The :class:`Profile` value: a dbt profile output whose secrets travel separately as env variables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

SECRET_ENV_PREFIX = "DBT_ENV_SECRET_"


@dataclass(frozen=True)
class Profile:
    """A dbt profile output for one destination.

    ``output`` holds only ``env_var()`` references in place of secrets; the values live in ``secret_env``
    (``DBT_ENV_SECRET_<NAME> -> value``), which must be given to the dbt process's environment only.
    ``repr()``/``str()`` never show secret values.
    """

    adapter_type: str
    output: Mapping[str, Any]
    secret_env: Mapping[str, str] = field(repr=False)
    source_dataset_name: str | None
    destination_type: str
    dbt_packages: tuple[str, ...]

    def __post_init__(self) -> None:
        # private copies, so a caller mutating its dict cannot change a built profile
        object.__setattr__(self, "output", dict(self.output))
        object.__setattr__(self, "secret_env", dict(self.secret_env))

    @property
    def _schema_key(self) -> str:
        return "dataset" if self.adapter_type == "bigquery" else "schema"

    @property
    def schema(self) -> str | None:
        """The schema (dataset, for BigQuery; database, for ClickHouse) dbt builds into."""
        value = self.output.get(self._schema_key)
        return None if value is None else str(value)

    def with_schema(self, schema: str) -> Profile:
        """A copy that makes dbt build into ``schema`` (everything else, secrets included, unchanged)."""
        return replace(self, output={**self.output, self._schema_key: schema})

    def __hash__(self) -> int:
        return hash((self.adapter_type, self.destination_type, self.source_dataset_name, self.dbt_packages,
                     repr(sorted(self.output.items()))))

    def __repr__(self) -> str:
        return (
            f"Profile(adapter_type={self.adapter_type!r}, destination_type={self.destination_type!r}, "
            f"schema={self.schema!r}, source_dataset_name={self.source_dataset_name!r}, "
            f"secret_env=<{len(self.secret_env)} hidden>, dbt_packages={self.dbt_packages!r})"
        )

    __str__ = __repr__
