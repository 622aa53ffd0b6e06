"""What one adapter mapping provides: how to build a dbt profile output from fields, and its URL form."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dbt_kickoff.profiles.fields import FieldReader
from dbt_kickoff.profiles.secrets import SecretEnv
from dbt_kickoff.profiles.urls import UrlParts

Builder = Callable[[FieldReader, SecretEnv], dict[str, Any]]
UrlReader = Callable[[UrlParts], dict[str, Any]]


@dataclass(frozen=True)
class Adapter:
    """One destination type and the dbt adapter that serves it."""

    name: str  # the user-facing destination type ("motherduck", "mssql"...)
    adapter_type: str  # dbt's `type:`
    packages: tuple[str, ...]  # pip distributions dbt needs
    build: Builder  # fields -> dbt profile output (secrets as env_var references)
    from_url: UrlReader  # URL parts -> fields
    schemes: tuple[str, ...] = ()  # URL schemes that select this adapter
    aliases: tuple[str, ...] = ()  # other names accepted as `type`
    url_forms: tuple[str, ...] = ()  # documented URL forms, for docs and error messages

