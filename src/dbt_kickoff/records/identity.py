"""Which package, target, vars and dbt version a record belongs to: the keys records are found by.

``state_key`` is what changed-only builds look up (``refs/last-success-<state_key>`` names the last good run
of the same package, target, vars and dbt version); ``package_key`` is what ``retry`` and retention use.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any


def short_hash(value: Any) -> str:
    """A stable 16-hex-digit hash of a JSON-able value (keys sorted)."""
    text = json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def option_value(args: Sequence[str], flag: str) -> str | None:
    """The value after ``flag`` in a dbt command line, or ``None``."""
    for index, arg in enumerate(args[:-1]):
        if arg == flag:
            return args[index + 1]
    return None


def vars_from_args(args: Sequence[str]) -> dict[str, Any]:
    """The ``--vars`` JSON of a dbt command line, as a dict (empty when there is none)."""
    text = option_value(args, "--vars")
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return {"__unparsed__": text}
    return value if isinstance(value, dict) else {"__value__": value}


@dataclass(frozen=True)
class RecordIdentity:
    """What a run ran: the package, where it wrote (target), with which vars and dbt version."""

    package_location: str
    project_name: str
    profile_name: str | None
    target: str | None
    adapter_type: str | None
    schema: str | None
    vars_hash: str
    dbt_version: str | None

    @property
    def package_key(self) -> str:
        return short_hash([self.package_location, self.project_name])

    @property
    def target_key(self) -> str:
        return short_hash([self.profile_name, self.target, self.adapter_type, self.schema])

    @property
    def state_key(self) -> str:
        return short_hash([self.package_key, self.target_key, self.vars_hash, self.dbt_version])

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "package_key": self.package_key, "target_key": self.target_key,
                "state_key": self.state_key}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RecordIdentity:
        names = ("package_location", "project_name", "profile_name", "target", "adapter_type", "schema",
                 "vars_hash", "dbt_version")
        return cls(**{name: data.get(name) for name in names})  # type: ignore[arg-type]


def last_ref(package_key: str) -> str:
    """The ref naming the newest record of a package (any outcome)."""
    return f"last-{package_key}"


def last_success_ref(state_key: str) -> str:
    """The ref naming the newest successful record of a package/target/vars/dbt version."""
    return f"last-success-{state_key}"


def last_complete_ref(state_key: str) -> str:
    """The ref naming the newest complete good run (what changed-only builds compare with; kept by pruning)."""
    return f"last-complete-{state_key}"


_SELECTION_FLAGS = frozenset({"--select", "-s", "--selector", "--exclude", "--models", "-m", "--resource-type",
                              "--resource-types", "--inline"})


def is_complete(data: Mapping[str, Any]) -> bool:
    """A record (its ``report.json``) of a successful call that left every node of the package up to date: an
    unselected ``build`` or ``run_all``, or a changed-only one."""
    if data.get("outcome") != "success" or data.get("call") not in ("build", "run_all"):
        return False
    params: Mapping[str, Any] = data.get("params") or {}
    if params.get("changed_only"):
        return True
    args = [*(params.get("cmd_params") or ()), *(params.get("run_params") or ())]
    return not any(str(arg).split("=", 1)[0] in _SELECTION_FLAGS for arg in args)


LATEST_REF = "latest"
