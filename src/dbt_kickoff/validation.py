"""The validation mechanism: option specs checked at the public boundary, before anything starts.

Each room owns the table of its options (:mod:`dbt_kickoff.cloud.options`, :mod:`dbt_kickoff.core.options`,
:mod:`dbt_kickoff.environments.options`, :mod:`dbt_kickoff.sources.options`, :mod:`dbt_kickoff.cli.options`): a
mapping of option names (``command_timeout``, ``poll_interval``...) to :class:`Spec` values that say what is
allowed, made with :func:`option_table`. :func:`validated` (one decorator per entry point, given its room's table)
checks every argument whose name is in the table, and turns an unknown keyword into an error suggesting the close
match; :func:`unchecked` is the same entry point without its checks, for an inner layer passing values a public
entry point already checked (so one call is validated once). The command line builds its argparse ``type=``
functions from the same specs (:func:`cli_type`). Every problem raises :class:`~dbt_kickoff.errors.ConfigurationError`
naming the option, the value's type or range, and what is allowed. A text value is never echoed (it may be a
secret given in the wrong place); numbers are.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import functools
import inspect
import math
import numbers
import os
import types
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ParamSpec, Protocol, TypeVar, cast, overload

from dbt_kickoff.errors import ConfigurationError

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


def _got(value: Any) -> str:
    """How a rejected value is shown: numbers as such, anything else by its type only."""
    if value is None:
        return "None"
    if isinstance(value, bool):
        return f"the bool {value}"
    if isinstance(value, numbers.Real):
        return repr(value)
    return f"a value of type {type(value).__name__}"


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest candidate, or ``""``."""
    candidates = list(candidates)
    close = [c for c in candidates if c.startswith(name) or name.startswith(c)]  # "index" -> "index_url"
    close = close or difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def unknown_option(where: str, name: str, allowed: Iterable[str], kind: str = "option") -> ConfigurationError:
    """The error for an unknown option or field, naming it and suggesting the close match."""
    allowed = sorted(allowed)
    return ConfigurationError(
        f"{where}: unknown {kind} {name!r}{did_you_mean(name, allowed)} (known: {', '.join(allowed)})"
    )


@dataclasses.dataclass(frozen=True)
class Spec:
    """What one option accepts. ``check`` returns the (possibly normalised) value or raises."""

    allowed: str
    optional: bool = True

    def check(self, option: str, value: Any) -> Any:
        if value is None:
            if self.optional:
                return None
            raise self.error(option, value)
        return self._check(option, value)

    def _check(self, option: str, value: Any) -> Any:
        return value

    def parse(self, option: str, text: str) -> Any:
        """The value of a command-line flag (text) — checked like a Python value."""
        return self.check(option, text)

    def error(self, option: str, value: Any, got: str | None = None) -> ConfigurationError:
        allowed = self.allowed + (" or None" if self.optional else "")
        return ConfigurationError(f"{option} must be {allowed}, got {got or _got(value)}")


@dataclasses.dataclass(frozen=True)
class Number(Spec):
    """A finite int or float (never a bool, NaN or infinity) within bounds."""

    minimum: float | None = None
    exclusive: bool = False
    maximum: float | None = None
    integer: bool = False
    infinite: bool = False
    """``math.inf`` means "no limit" (a wait timeout)."""

    def _check(self, option: str, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise self.error(option, value)
        if self.integer and not isinstance(value, numbers.Integral):
            raise self.error(option, value, f"the non-integer {value!r}")
        if not math.isfinite(value) and not (self.infinite and value == math.inf):
            raise self.error(option, value)
        too_low = self.minimum is not None and (value <= self.minimum if self.exclusive else value < self.minimum)
        if too_low or (self.maximum is not None and value > self.maximum):
            raise self.error(option, value)
        return value

    def parse(self, option: str, text: str) -> Any:
        try:
            value: Any = int(text) if self.integer else float(text)
        except ValueError:
            kind = "a whole number" if self.integer else "a number"
            raise self.error(option, text, f"text that is not {kind}") from None
        return self.check(option, value)


@dataclasses.dataclass(frozen=True)
class Text(Spec):
    """A non-empty string."""

    def _check(self, option: str, value: Any) -> Any:
        if not isinstance(value, str) or not value.strip():
            raise self.error(option, value, "an empty text" if isinstance(value, str) else None)
        return value


@dataclasses.dataclass(frozen=True)
class Choice(Spec):
    """One of a few strings."""

    choices: tuple[str, ...] = ()

    def _check(self, option: str, value: Any) -> Any:
        if value not in self.choices:
            shown = f"{value!r}" if isinstance(value, str) and len(value) <= 30 else None
            raise self.error(option, value, shown)
        return value


@dataclasses.dataclass(frozen=True)
class PathLike(Spec):
    """A non-empty ``str`` or ``os.PathLike`` (a folder or file path)."""

    def _check(self, option: str, value: Any) -> Any:
        if not isinstance(value, (str, os.PathLike)) or not os.fspath(value).strip():
            raise self.error(option, value, "an empty path" if isinstance(value, str) else None)
        return value


@dataclasses.dataclass(frozen=True)
class FolderPath(PathLike):
    """A folder path (it may not exist yet); a path to an existing file is refused."""

    def _check(self, option: str, value: Any) -> Any:
        value = super()._check(option, value)
        if os.path.exists(value) and not os.path.isdir(value):
            raise ConfigurationError(f"{option} must be a folder (it is created when missing), but "
                                     f"{os.fspath(value)} is a file")
        return value


@dataclasses.dataclass(frozen=True)
class MappingSpec(Spec):
    """A mapping with string keys (JSON-like)."""

    def _check(self, option: str, value: Any) -> Any:
        if not isinstance(value, Mapping):
            raise self.error(option, value)
        bad = [key for key in value if not isinstance(key, str)]
        if bad:
            raise self.error(option, value, f"a mapping with a key of type {type(bad[0]).__name__}")
        return value


@dataclasses.dataclass(frozen=True)
class Strings(Spec):
    """A list or tuple of strings (dbt arguments); a lone string is refused (it would be split in letters),
    unless ``single`` allows it."""

    single: bool = False
    paths: bool = False
    """Items may also be ``os.PathLike`` (folders of wheels...)."""

    def _check(self, option: str, value: Any) -> Any:
        item_types: tuple[type, ...] = (str, os.PathLike) if self.paths else (str,)
        if self.single and isinstance(value, item_types):
            return value
        if isinstance(value, str):
            raise self.error(option, value, "a single str (wrap it in a list)")
        if isinstance(value, (bytes, Mapping)) or not isinstance(value, Iterable):
            raise self.error(option, value)
        items = list(value)
        for item in items:
            if not isinstance(item, item_types):
                raise self.error(option, value, f"a sequence holding {_got(item)}")
        return type(value)(items) if isinstance(value, (list, tuple)) else tuple(items)


@dataclasses.dataclass(frozen=True)
class Flag(Spec):
    """``True`` or ``False`` (not 0/1, not a string)."""

    optional: bool = False

    def _check(self, option: str, value: Any) -> Any:
        if not isinstance(value, bool):
            raise self.error(option, value)
        return value


@dataclasses.dataclass(frozen=True)
class Function(Spec):
    """A callable."""

    def _check(self, option: str, value: Any) -> Any:
        if not callable(value):
            raise self.error(option, value)
        return value


@dataclasses.dataclass(frozen=True)
class Identifier(Spec):
    """A dbt Cloud id: a positive integer, or a string of digits."""

    def _check(self, option: str, value: Any) -> Any:
        text = value.strip() if isinstance(value, str) else None
        if isinstance(value, bool) or not (isinstance(value, int) or (text and text.isdigit())):
            raise self.error(option, value)
        number = int(value)
        if number < 1:
            raise self.error(option, value, repr(number))
        return value

    def parse(self, option: str, text: str) -> Any:
        if not text.strip().isdigit():
            raise self.error(option, text, "text that is not a whole number")
        return self.check(option, int(text))


@dataclasses.dataclass(frozen=True)
class RunReference(Identifier):
    """A dbt Cloud run: its id (as :class:`Identifier`), or the run as dbt Cloud describes it (a mapping with
    that ``id``)."""

    def _check(self, option: str, value: Any) -> Any:
        if isinstance(value, Mapping):
            if "id" not in value:
                raise self.error(option, value, "a mapping without an 'id'")
            super()._check(f"{option}['id']", value["id"])
            return value
        return super()._check(option, value)


SECONDS = Number("a finite number of seconds > 0", minimum=0, exclusive=True)
SECONDS_OR_ZERO = Number("a finite number of seconds >= 0", minimum=0)
COUNT = Number("a whole number >= 1", minimum=1, integer=True)
TEXT = Text("a non-empty str")
PATH = PathLike("a non-empty path (str or os.PathLike)")
FOLDER = FolderPath("a non-empty folder path (str or os.PathLike)")
MAPPING = MappingSpec("a mapping (dict) with str keys")
ARGS = Strings("a list of str (dbt arguments)")
FLAG = Flag("True or False")
FUNCTION = Function("a callable")
ID = Identifier("a positive whole number (or a str of digits)")

Specs = Mapping[str, Spec]
"""A room's option table: option name -> what it accepts."""

_TABLES: dict[str, Specs] = {}


def option_table(room: str, specs: Mapping[str, Spec]) -> Specs:
    """The (read-only) option table of ``room``. Rooms pass their table to :func:`validated` explicitly; each
    table is also known to :func:`validated` used bare (outside the rooms: a test's or a user's own function).
    A name that two rooms declare must have the same spec in both: one name, one meaning."""
    for other, table in _TABLES.items():
        clashes = sorted(n for n, spec in specs.items() if other != room and n in table and table[n] != spec)
        if clashes:
            raise ValueError(f"options {clashes} of {room} differ from those of {other}")
    _TABLES[room] = types.MappingProxyType(dict(specs))
    return _TABLES[room]


def check(specs: Specs, option: str, value: Any, *, name: str | None = None, where: str = "") -> Any:
    """Check ``value`` against the spec of ``name`` (default: ``option``) in ``specs``."""
    label = f"{where}: {option}" if where else option
    return specs[name or option].check(label, value)


def _bind(signature: inspect.Signature, where: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    try:
        return signature.bind(*args, **kwargs)
    except TypeError:
        pass
    params = signature.parameters
    takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
    names = [n for n, p in params.items() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and n != "self"]
    for key in kwargs:
        if key not in params and not takes_any:
            raise unknown_option(where, key, names)
    positional = [p for p in params.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(args) > len(positional):
        raise ConfigurationError(
            f"{where} takes at most {len(positional) - ('self' in params)} positional argument(s); pass the rest "
            "by name"
        )
    for index, (name, param) in enumerate(params.items()):
        given = name in kwargs or index < len(args)
        if param.default is param.empty and param.kind not in (param.VAR_POSITIONAL, param.VAR_KEYWORD) and not given:
            raise ConfigurationError(f"{where}: the option {name!r} is required")
        if name in kwargs and index < len(args) and param.kind is not param.KEYWORD_ONLY:
            raise ConfigurationError(f"{where}: the option {name!r} was given twice (by position and by name)")
    raise ConfigurationError(f"{where}: these arguments do not fit its signature")


class Decorator(Protocol):
    """What ``validated(TABLE)`` returns: a decorator keeping the function's signature."""

    def __call__(self, func: Callable[P, R], /) -> Callable[P, R]: ...


@overload
def validated(specs: Specs) -> Decorator: ...


@overload
def validated(specs: Callable[P, R]) -> Callable[P, R]: ...


def validated(specs: Specs | Callable[P, R]) -> Decorator | Callable[P, R]:
    """``@validated(TABLE)``: check every argument of the decorated function whose name is in ``TABLE``, before
    the function runs. Bare ``@validated`` checks against every room's table (of the rooms imported by then).

    Unknown keyword arguments raise :class:`ConfigurationError` suggesting the close match (not Python's
    ``TypeError``). Arguments not in the table are left to the function. A coroutine function stays one: its
    arguments are checked when it is awaited, before its own coroutine is even created (so before any I/O).
    :func:`unchecked` gives the function without its checks.
    """
    if isinstance(specs, Mapping):
        return cast(Decorator, functools.partial(_validated, specs))
    return _validated({name: spec for table in _TABLES.values() for name, spec in table.items()}, specs)


def _validated(specs: Specs, func: Callable[P, R]) -> Callable[P, R]:
    signature = inspect.signature(func)
    where = f"{func.__qualname__.replace('.__init__', '')}()"
    checked = [name for name in signature.parameters if name in specs]

    def bind(args: tuple[Any, ...], kwargs: dict[str, Any]) -> inspect.BoundArguments:
        bound = _bind(signature, where, args, kwargs)
        for name in checked:
            if name in bound.arguments:
                bound.arguments[name] = specs[name].check(f"{where}: {name}", bound.arguments[name])
        return bound

    wrapper: Any
    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def checked_coroutine(*args: Any, **kwargs: Any) -> Any:
            bound = bind(args, kwargs)
            return await func(*bound.args, **bound.kwargs)

        wrapper = checked_coroutine
    else:

        @functools.wraps(func)
        def checked_call(*args: Any, **kwargs: Any) -> Any:
            bound = bind(args, kwargs)
            return func(*bound.args, **bound.kwargs)

        wrapper = checked_call
    wrapper.__unchecked__ = func
    return cast(Callable[P, R], wrapper)


def validated_methods(specs: Specs) -> Callable[[type[T]], type[T]]:
    """``@validated_methods(TABLE)``: :func:`validated` on the constructor and every public method of a class
    (a class decorator); async methods included."""

    def decorate(cls: type[T]) -> type[T]:
        for name, member in list(vars(cls).items()):
            if inspect.isfunction(member) and (name == "__init__" or not name.startswith("_")):
                setattr(cls, name, _validated(specs, member))
        return cls

    return decorate


def unchecked(call: Callable[P, R]) -> Callable[P, R]:
    """``call`` — a :func:`validated` function, a bound method of a :func:`validated_methods` class, or such a
    class (its constructor) — without its checks: for an inner layer passing values that the public entry point
    it serves has already checked, so a call is validated once."""
    if isinstance(call, type):
        cls: Any = call
        init = _original(cls.__init__)

        def construct(*args: Any, **kwargs: Any) -> Any:
            instance = cls.__new__(cls)
            init(instance, *args, **kwargs)
            return instance

        return cast(Callable[P, R], construct)
    if inspect.ismethod(call):
        return cast(Callable[P, R], types.MethodType(_original(call.__func__), call.__self__))
    return cast(Callable[P, R], _original(call))


def _original(func: Any) -> Any:
    original = getattr(func, "__unchecked__", None)
    if original is None:
        raise TypeError(f"{func!r} is not a validated entry point")
    return original


def cli_type(specs: Specs, option: str, flag: str) -> Callable[[str], Any]:
    """An argparse ``type=`` function checking a flag's text with the spec of ``option`` in ``specs``."""
    return _convert(dataclasses.replace(specs[option], optional=False), flag)  # an absent flag is never parsed


def _convert(spec: Spec, flag: str) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        try:
            return spec.parse(flag, text)
        except ConfigurationError as exc:
            raise argparse.ArgumentTypeError(str(exc).removeprefix(f"{flag} ")) from None

    convert.__name__ = flag.lstrip("-")  # argparse names the type in some messages
    return convert


def cli_text(flag: str) -> Callable[[str], Any]:
    """An argparse ``type=`` function for a flag that takes non-empty text (no matching API option)."""
    return _convert(Text("a non-empty text", optional=False), flag)
