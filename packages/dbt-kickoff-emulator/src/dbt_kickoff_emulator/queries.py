"""Query-string parsing: include_related in every encoding, bracketed lists, ranges, ordering, paging."""

from __future__ import annotations

import ast
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

T = TypeVar("T")
Query = Mapping[str, Sequence[str]]
MAX_LIMIT = 100


class ValidationFailed(Exception):
    """A request failed validation; ``fields`` maps each bad field to a message."""

    def __init__(self, fields: Mapping[str, str]) -> None:
        super().__init__(", ".join(fields))
        self.fields = dict(fields)


def first(query: Query, name: str) -> str | None:
    """The first value of ``name``, or None."""
    values = query.get(name)
    return values[0] if values else None


def parse_include_related(query: Query) -> set[str]:
    """``include_related`` as comma list, repeated keys, ``['a','b']`` literal, or ``include_related[]``."""
    names: set[str] = set()
    for raw in [*query.get("include_related", ()), *query.get("include_related[]", ())]:
        text = raw.strip()
        items: list[Any]
        if text.startswith("["):
            try:
                parsed = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                parsed = text.strip("[]").split(",")
            items = list(parsed) if isinstance(parsed, (list, tuple)) else [parsed]
        else:
            items = text.split(",")
        names.update(str(item).strip().strip("'\"").strip() for item in items)
    names.discard("")
    return names


def _schema_error(raw: str) -> str:
    return f"'{raw}' is not valid under any of the given schemas"


def parse_bracketed(query: Query, name: str, convert: Callable[[Any], T]) -> list[T] | None:
    """A bracketed-list filter such as ``status__in=[10,20]`` (JSON or Python literal); malformed -> 400."""
    raw = first(query, name)
    if raw is None:
        return None
    text = raw.strip()
    if not (text.startswith("[") and text.endswith("]")):
        raise ValidationFailed({name: _schema_error(raw)})
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        try:
            parsed = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            raise ValidationFailed({name: _schema_error(raw)}) from None
    if not isinstance(parsed, (list, tuple)):
        raise ValidationFailed({name: _schema_error(raw)})
    try:
        return [convert(item) for item in parsed]
    except (TypeError, ValueError):
        raise ValidationFailed({name: _schema_error(raw)}) from None


def strict_int(value: Any) -> int:
    """An int from an int or a digit string; bool and floats are rejected."""
    if isinstance(value, bool):
        raise ValueError("not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise ValueError("not an integer")


def parse_int(query: Query, name: str) -> int | None:
    """An integer filter; a non-integer -> 400."""
    raw = first(query, name)
    if raw is None:
        return None
    try:
        return strict_int(raw)
    except ValueError:
        raise ValidationFailed({name: "A valid integer is required."}) from None


def parse_bool(query: Query, name: str) -> bool | None:
    """A boolean filter (``true``/``false``, ``1``/``0``)."""
    raw = first(query, name)
    if raw is None:
        return None
    lowered = raw.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise ValidationFailed({name: "Must be a valid boolean."})


def _datetime(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("not a datetime")
    moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return moment


def parse_range(query: Query, name: str) -> tuple[datetime, datetime] | None:
    """A ``*__range`` filter: a bracketed list of two ISO timestamps."""
    values = parse_bracketed(query, name, _datetime)
    if values is None:
        return None
    if len(values) != 2:
        raise ValidationFailed({name: _schema_error(first(query, name) or "")})
    return values[0], values[1]


def parse_order_by(query: Query, allowed: Sequence[str], default: str) -> tuple[str, str, bool]:
    """``(echo, field, descending)`` for ``order_by``; an unknown field -> 400."""
    raw = first(query, "order_by") or default
    field_name = raw[1:] if raw.startswith("-") else raw
    if field_name not in allowed:
        choices = ", ".join(allowed)
        raise ValidationFailed({"order_by": f"'{raw}' is not a valid ordering; use one of {choices}."})
    return raw, field_name, raw.startswith("-")


def parse_paging(query: Query, *, clamp: bool) -> tuple[int, int]:
    """``(limit, offset)``; ``limit`` > 100 is a 400 unless ``clamp``."""
    limit = parse_int(query, "limit")
    offset = parse_int(query, "offset")
    if limit is None:
        limit = MAX_LIMIT
    if limit < 1:
        raise ValidationFailed({"limit": "Ensure this value is greater than or equal to 1."})
    if limit > MAX_LIMIT:
        if not clamp:
            raise ValidationFailed({"limit": f"Ensure this value is less than or equal to {MAX_LIMIT}."})
        limit = MAX_LIMIT
    if offset is None:
        offset = 0
    if offset < 0:
        raise ValidationFailed({"offset": "Ensure this value is greater than or equal to 0."})
    return limit, offset
