"""Where a dbt profile output writes: what tells one database apart from another (a DuckDB file, a host and
database, an account, a catalog...), as a mapping without secrets and without the settings that only tune the
connection. Run records, changed-only builds and retry compare it, so a call never compares with, or retries
from, another database that happens to share a schema name.

It errs on the side of "another place": any field not known to be a connection knob counts (a different user or
warehouse makes the next changed-only call build everything, never skip a table that is not there).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from dbt_kickoff.profiles.model import SECRET_ENV_PREFIX
from dbt_kickoff.redaction import is_secret_key

TUNING_FIELDS = frozenset({
    "threads", "connect_timeout", "connect_retries", "retries", "retry_all", "keepalives_idle", "timeout_seconds",
    "job_execution_timeout_seconds", "job_retries", "job_creation_timeout_seconds", "query_timeout",
    "login_timeout", "socket_timeout", "poll_interval", "reuse_connections", "client_session_keep_alive",
    "sslmode", "application_name", "priority", "maximum_bytes_billed", "query_comment", "search_path",
})
"""Fields that change how dbt connects, not where it writes."""
SCHEMA_FIELDS = frozenset({"schema", "dataset"})
"""Where dbt writes inside the database: identified apart, as the call's dataset."""
_ENV_REF = re.compile(r"\{\{\s*env_var\(\s*['\"]([^'\"]+)['\"](?:\s*,\s*['\"]([^'\"]*)['\"])?\s*\)\s*\}\}")


def location_of(output: Mapping[str, Any]) -> dict[str, Any]:
    """What identifies the database ``output`` (a dbt profile output) writes to: every field but the schema,
    the tuning knobs and the secrets (a secret's ``env_var()`` reference stays: it names the same place)."""
    return {key: value for key, value in sorted(output.items())
            if key not in SCHEMA_FIELDS and key not in TUNING_FIELDS
            and not (is_secret_key(key) and "env_var" not in str(value))}


def _rendered(value: Any) -> Any:
    """A profiles.yml value with its ``env_var('X')`` references replaced by the values that are not secrets."""
    if isinstance(value, str):
        def substitute(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name.startswith(SECRET_ENV_PREFIX) or is_secret_key(name):
                return match.group(0)
            return os.environ.get(name, default if default is not None else match.group(0))

        return _ENV_REF.sub(substitute, value)
    if isinstance(value, Mapping):
        return {key: _rendered(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_rendered(item) for item in value]
    return value


def profiles_yml_location(folders: Sequence[Path], profile_name: str | None,
                          target: str | None) -> dict[str, Any]:
    """The location of the target a package's own ``profiles.yml`` selects (the first file found in
    ``folders``, as dbt looks for it), with the non-secret ``env_var()`` values it reads; the schema counts here
    (the file decides it). When the file or the target cannot be read, the file's whole text stands for it."""
    for folder in folders:
        file = folder / "profiles.yml"
        if not file.is_file():
            continue
        text = file.read_text(encoding="utf-8", errors="replace")
        try:
            profiles = yaml.safe_load(text) or {}
            profile = profiles[profile_name] if profile_name else None
            chosen = target or (profile or {}).get("target")
            output = profile["outputs"][chosen] if profile else None
        except (yaml.YAMLError, KeyError, TypeError):
            output = None
        if not isinstance(output, Mapping):
            return {"profiles.yml": str(file), "text": _rendered(text)}
        rendered = _rendered(dict(output))
        return {"profiles.yml": str(file), "target": chosen,
                **{key: value for key, value in sorted(rendered.items()) if key not in TUNING_FIELDS}}
    return {"profiles.yml": None}
