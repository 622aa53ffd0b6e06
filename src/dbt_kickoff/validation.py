"""One declarative validation layer for every public option, applied at the boundary, before anything starts.

:data:`OPTIONS` maps each option name used by the public API (``command_timeout``, ``threads``, ``port``...) to a
:class:`Spec` that says what is allowed. :func:`validated` (one decorator per entry point) checks every argument
whose name is in the table, and turns an unknown keyword into an error suggesting the close match; the command
line builds its argparse ``type=`` functions from the same specs (:func:`cli_type`). Every problem raises
:class:`~dbt_kickoff.errors.ConfigurationError` naming the option, the value's type or range, and what is
allowed. A text value is never echoed (it may be a secret given in the wrong place); numbers are.
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
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ParamSpec, TypeVar, cast

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
PORT = Number("a whole number in 0..65535", optional=False, minimum=0, maximum=65535, integer=True)
TEXT = Text("a non-empty str")
PATH = PathLike("a non-empty path (str or os.PathLike)")
FOLDER = FolderPath("a non-empty folder path (str or os.PathLike)")
MAPPING = MappingSpec("a mapping (dict) with str keys")
ARGS = Strings("a list of str (dbt arguments)")
FLAG = Flag("True or False")
FUNCTION = Function("a callable")
ID = Identifier("a positive whole number (or a str of digits)")

OPTIONS: dict[str, Spec] = {
    # package()
    "package_location": PathLike("a folder path or a git URL (str or os.PathLike)", optional=False),
    "package_repository_branch": TEXT,
    "package_repository_ssh_key": TEXT,
    "package_repository_token": TEXT,
    "dataset_name": TEXT,
    "source_dataset_name": TEXT,
    "profiles_dir": PATH,
    "profile_name": TEXT,
    "target": TEXT,
    "working_dir": FOLDER,
    "subdirectory": PATH,
    "auto_full_refresh_when_out_of_sync": FLAG,
    "allow_stale_package": FLAG,
    "reuse_manifest": FLAG,
    "threads": COUNT,
    "git_options": MAPPING,
    "command_timeout": SECONDS,
    "connect_timeout": SECONDS,
    "on_event": FUNCTION,
    "recycle_after_commands": COUNT,
    "recycle_above_memory_mb": Number("a finite number of MiB > 0", minimum=0, exclusive=True),
    # package(git_options=...)
    "username": TEXT,
    "known_hosts": PATH,
    "host_key_policy": Choice("'strict' or 'accept-new'", optional=False, choices=("strict", "accept-new")),
    # PackageRunner methods
    "run_params": ARGS,
    "cmd_params": Strings("a list of str (dbt arguments)", optional=False),
    "args": Strings("a non-empty list of str (a dbt command)", optional=False),
    "additional_vars": MAPPING,
    "source_tests_selector": TEXT,
    "destination_dataset_name": TEXT,
    "full_refresh": FLAG,
    "include_dlt_tables": FLAG,
    "changed_only": FLAG,
    "always_build": Text("a non-empty dbt selector (e.g. 'tag:always' or 'model_a model_b')"),
    "command": Text("a dbt command name such as 'build'", optional=False),
    # get_venv()
    "dbt_version": TEXT,
    "adapters": Strings("an adapter name or a list of them", single=True),
    "venv_dir": FOLDER,
    "venv_path": PATH,
    "python": PATH,
    "index_url": TEXT,
    "find_links": Strings("a path or URL of wheels, or a list of them", single=True, paths=True),
    "no_index": FLAG,
    "installer": Choice("one of 'auto', 'uv', 'pip'", optional=False, choices=("auto", "uv", "pip")),
    "lock_timeout": SECONDS_OR_ZERO,
    # cycles
    "every": Number("a finite number of seconds > 0", optional=False, minimum=0, exclusive=True),
    "transform": Choice("'build' or 'run_all'", optional=False, choices=("build", "run_all")),
    "only_loaded": FLAG,
    "max_cycles": COUNT,
    "overlap": Choice("'wait' or 'skip'", optional=False, choices=("wait", "skip")),
    "full_first_cycle": FLAG,
    "load": FUNCTION,
    # dbt Cloud
    "job_id": ID,
    "run_id": ID,
    "account_id": ID,
    "data": MAPPING,
    "wait_for_outcome": FLAG,
    "wait": FLAG,
    "wait_seconds": Number("a finite number of seconds > 0", optional=False, minimum=0, exclusive=True),
    "poll_interval": Number("a finite number of seconds > 0", optional=False, minimum=0, exclusive=True),
    "timeout": Number("a number of seconds >= 0 (inf: no limit)", minimum=0, infinite=True),
    "http_timeout": Number("a finite number of seconds > 0", optional=False, minimum=0, exclusive=True),
    "cancel_on_timeout": FLAG,
    "raise_on_failure": FLAG,
    "idempotency_key": TEXT,
    "attach_to_running": FLAG,
    "rerun_from_failure": FLAG,
    "on_poll": FUNCTION,
    "cancel_on_stop": FLAG,
    "just_triggered": FLAG,
    "run": RunReference("a dbt Cloud run id (a positive whole number or a str of digits) or a run dict with its "
                        "'id'", optional=False),
    "include_related": Strings("a list of str (related objects, e.g. ['run_steps'])"),
    "project_name": Text("a non-empty str (a dbt Cloud project name)", optional=False),
    "environment_name": Text("a non-empty str (a dbt Cloud environment name)", optional=False),
    "job_name": Text("a non-empty str (a dbt Cloud job name)", optional=False),
    "step": COUNT,
    "paths": Strings("a list of str (artifact paths)"),
    "include_compiled": FLAG,
    "cancel_grace": Number("a finite number of seconds >= 0", optional=False, minimum=0),
    "warm_start": FLAG,
    "state_dir": PATH,
    # command line only
    "port": PORT,
    "older_than_days": Number("a finite number of days >= 0", optional=False, minimum=0),
    "limit": COUNT,
}


def check(option: str, value: Any, *, name: str | None = None, where: str = "") -> Any:
    """Check ``value`` against the spec of ``name`` (default: ``option``) in :data:`OPTIONS`."""
    label = f"{where}: {option}" if where else option
    return OPTIONS[name or option].check(label, value)


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


def validated(func: Callable[P, R]) -> Callable[P, R]:
    """Check every argument of ``func`` whose name is in :data:`OPTIONS`, before ``func`` runs.

    Unknown keyword arguments raise :class:`ConfigurationError` suggesting the close match (not Python's
    ``TypeError``). Arguments not in the table are left to ``func``. A coroutine function stays one: its
    arguments are checked when it is awaited, before its own coroutine is even created (so before any I/O).
    """
    signature = inspect.signature(func)
    where = f"{func.__qualname__.replace('.__init__', '')}()"
    checked = [name for name in signature.parameters if name in OPTIONS]

    def bind(args: tuple[Any, ...], kwargs: dict[str, Any]) -> inspect.BoundArguments:
        bound = _bind(signature, where, args, kwargs)
        for name in checked:
            if name in bound.arguments:
                bound.arguments[name] = OPTIONS[name].check(f"{where}: {name}", bound.arguments[name])
        return bound

    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def checked_coroutine(*args: Any, **kwargs: Any) -> Any:
            bound = bind(args, kwargs)
            return await func(*bound.args, **bound.kwargs)

        return cast(Callable[P, R], checked_coroutine)

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        bound = bind(args, kwargs)
        return func(*bound.args, **bound.kwargs)

    return wrapper


def validated_methods(cls: type[T]) -> type[T]:
    """:func:`validated` on the constructor and every public method of a class (a class decorator); async
    methods included."""
    for name, member in list(vars(cls).items()):
        if inspect.isfunction(member) and (name == "__init__" or not name.startswith("_")):
            setattr(cls, name, validated(member))
    return cls


def cli_type(option: str, flag: str) -> Callable[[str], Any]:
    """An argparse ``type=`` function checking a flag's text with the spec of ``option``."""
    return _convert(dataclasses.replace(OPTIONS[option], optional=False), flag)  # an absent flag is never parsed


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
