"""Collect secret values as ``DBT_ENV_SECRET_*`` variables and hand back ``env_var()`` references."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from dbt_kickoff.profiles.model import SECRET_ENV_PREFIX
from dbt_kickoff.redaction import SECRET_KEY_PATTERN, is_secret_key

__all__ = ["SECRET_KEY_PATTERN", "SecretEnv", "hide_secrets", "is_secret_key"]

class SecretEnv:
    """Accumulates ``DBT_ENV_SECRET_<NAME> -> value`` for one profile."""

    def __init__(self) -> None:
        self._values: dict[str, str] = {}

    def ref(self, name: str, value: Any) -> str:
        """Store ``value`` under ``DBT_ENV_SECRET_<NAME>`` and return the Jinja reference for profiles.yml."""
        var = SECRET_ENV_PREFIX + re.sub(r"[^A-Z0-9]+", "_", name.upper()).strip("_")
        text = str(value)
        # env vars are text: numbers and booleans need a filter to come back as their type
        kind = ""
        if isinstance(value, bool):
            kind = " | as_bool"
        elif isinstance(value, (int, float)):
            kind = " | as_number"
        existing = self._values.get(var)
        if existing is not None and existing != text:
            suffix = 2
            while f"{var}_{suffix}" in self._values:
                suffix += 1
            var = f"{var}_{suffix}"
        self._values[var] = text
        return "{{ env_var('" + var + "')" + kind + " }}"

    @property
    def values(self) -> dict[str, str]:
        return dict(self._values)


def hide_secrets(key: str, value: Any, secrets: SecretEnv, inherited: bool = False) -> Any:
    """``value`` with every secret leaf (by its own or an enclosing key's name) replaced by a reference.

    Walks nested mappings and lists, so e.g. dbt-duckdb ``settings: {s3_secret_access_key: ...}`` is hidden.
    """
    secret = inherited or is_secret_key(key)
    if isinstance(value, Mapping):
        return {k: hide_secrets(f"{key}_{k}", v, secrets, secret) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [hide_secrets(f"{key}_{i}", v, secrets, secret) for i, v in enumerate(value)]
    return secrets.ref(key, value) if secret and value is not None else value
