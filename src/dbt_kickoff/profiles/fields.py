"""Read destination fields (from a URL, a mapping or dlt credentials) with aliases and clear errors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from dbt_kickoff.errors import ConfigurationError


class Origin(Enum):
    """Where fields came from; decides what happens to fields an adapter does not know."""

    MAPPING = "mapping"  # a dbt profile output: unknown fields pass through to dbt
    URL = "url"  # unknown query parameters are an error
    DLT = "dlt"  # dlt credentials carry dlt-only fields: unknown fields are ignored


@dataclass
class Context:
    """Per-call options shared by all adapters."""

    destination_type: str
    origin: Origin
    where: str  # a secret-free description of the input for error messages
    dataset: str | None  # the caller's dataset_name: wins over everything
    source_dataset: str | None  # the dataset the data was loaded into (dlt pipeline): wins over the fields'
    connect_timeout: float | None


class FieldReader:
    """Looks fields up by their dbt name or an alias and remembers which ones were used."""

    def __init__(self, fields: Mapping[str, Any], ctx: Context) -> None:
        self._fields = {str(k): v for k, v in fields.items()}
        self._used: set[str] = set()
        self.ctx = ctx

    def get(self, *names: str, default: Any = None) -> Any:
        """The first non-empty value among ``names`` (all are marked used), else ``default``."""
        self._used.update(names)
        for name in names:
            value = self._fields.get(name)
            if value is not None and value != "":
                return value
        return default

    def has(self, *names: str) -> bool:
        return self.get(*names) is not None

    def require(self, *names: str, hint: str = "") -> Any:
        """Like :meth:`get` but a missing value raises :class:`ConfigurationError` naming the field."""
        value = self.get(*names)
        if value is None:
            alias = f" (or {', '.join(repr(n) for n in names[1:])})" if len(names) > 1 else ""
            raise ConfigurationError(
                f"{self.ctx.destination_type} destination {self.ctx.where} is missing {names[0]!r}{alias}"
                + (f": {hint}" if hint else "")
            )
        return self._scalar(names[0], value)

    def _scalar(self, name: str, value: Any) -> Any:
        """A mapping, list or set where text or a number belongs is an error (naming the type, never the value)."""
        if isinstance(value, (Mapping, list, tuple, set, bytes)):
            raise ConfigurationError(
                f"{self.ctx.destination_type} destination {self.ctx.where}: {name!r} must be text, "
                f"got a value of type {type(value).__name__}"
            )
        return value

    def text(self, *names: str, default: str | None = None) -> str | None:
        """A text field (see :meth:`_scalar`)."""
        value = self._scalar(names[0], self.get(*names))
        return default if value is None else str(value)

    def integer(
        self, *names: str, default: int | None = None, low: int = 0, high: int | None = None
    ) -> int | None:
        """An integer field (port, timeout...) validated against ``low``/``high``."""
        value = self.get(*names)
        if value is None:
            return default
        try:
            number = int(str(value).strip())
        except ValueError:
            number = None
        if number is None or number < low or (high is not None and number > high):
            bounds = f"{low}..{high}" if high is not None else f">= {low}"
            shown = repr(value) if number is not None else "a value that is not a whole number"
            raise ConfigurationError(
                f"{self.ctx.destination_type} destination {self.ctx.where}: {names[0]!r} must be an integer "
                f"in {bounds}, got {shown}"  # never echo text: it may be a misplaced secret
            ) from None
        return number

    def port(self, default: int) -> int:
        port = self.integer("port", default=default, low=1, high=65535)
        assert port is not None
        return port

    def boolean(self, *names: str, default: bool | None = None) -> bool | None:
        value = self.get(*names)
        if value is None or isinstance(value, bool):
            return default if value is None else value
        lowered = str(value).strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ConfigurationError(
            f"{self.ctx.destination_type} destination {self.ctx.where}: {names[0]!r} must be true or false"
        )

    def schema(self, *names: str, default: str) -> str:
        """The dataset dbt builds into: explicit, else the pipeline's, else the fields', else ``default``."""
        own = self.text(*names)
        return self.ctx.dataset or self.ctx.source_dataset or own or default

    def known(self) -> set[str]:
        """Every field name (and alias) the adapter asked for."""
        return set(self._used)

    def leftovers(self) -> dict[str, Any]:
        """Fields no adapter code asked for, in input order."""
        return {k: v for k, v in self._fields.items() if k not in self._used and v is not None}
