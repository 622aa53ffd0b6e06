"""Which distributions a dbt venv needs: ``dbt-core`` at the requested version plus the adapter(s), or for the
dbt v2 engine (dbt Fusion) the ``dbt`` distribution alone (a self-contained binary; adapters are built in)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from dbt_kickoff.errors import ConfigurationError

DEFAULT_DBT_VERSION = ">=1.10,<1.12"
"""dbt-core versions installed when ``dbt_version`` is not given. dbt-core 1.12 is left out on purpose: it
depends on ``dbt-core-experimental-parser``, whose build downloads a binary from GitHub, which fails offline
or behind a firewall."""

PIN_HINT = (
    'pin dbt with dbt_version="1.11.*" (the default is "'
    + DEFAULT_DBT_VERSION
    + '"); behind a firewall pass '
    "index_url= (a PyPI mirror), find_links= (a folder of wheels) and/or no_index=True"
)

FUSION_PIN_HINT = (
    'pin the dbt v2 engine with dbt_version="2.0.0rc196" (a version with a wheel for this platform; '
    '"fusion" means "' + "dbt>=2.0.0rc0,<3" + '", wheels only); behind a firewall pass index_url= (a PyPI mirror), '
    "find_links= (a folder of wheels) and/or no_index=True"
)

# dbt adapter types that are not dlt destinations (the rest come from dbt_kickoff.profiles)
EXTRA_ADAPTERS: dict[str, str] = {"fabric": "dbt-fabric", "spark": "dbt-spark", "synapse": "dbt-synapse"}

_BARE_VERSION = re.compile(r"^\d+(\.\d+){0,2}(\.\*)?$")

FUSION_ALIASES = frozenset({"fusion", "v2", "2", "2.*", "2.0", "2.0.*", "==2.*", "==2.0.*"})
FUSION_REQUIREMENT = "dbt>=2.0.0rc0,<3"
"""What ``dbt_version="fusion"`` (or ``"2.*"``) installs: the ``dbt`` distribution of the v2 engine. The dbt v2
releases on the package index are pre-releases (``2.0.0rc196`` = ``2.0.0-preview.196``); the ``rc0`` lower
bound is an explicit pre-release, so uv allows pre-releases for this one requirement and no other."""
_LOWER_BOUNDS = frozenset({"==", "===", ">=", ">", "~="})


def is_fusion(dbt_version: str | None) -> bool:
    """True when ``dbt_version`` asks for the dbt v2 engine: ``"fusion"``, ``"2.*"``, ``"2.0.0rc196"``,
    ``"2.0.0-preview.196"``, or a specifier whose lower bound is a 2.x version (``">=2.0.0rc0"``)."""
    if dbt_version is None:
        return False
    text = str(dbt_version).strip().lower()
    if text in FUSION_ALIASES:
        return True
    try:
        return Version(text).major == 2
    except InvalidVersion:
        pass
    try:
        clauses = SpecifierSet(text)
    except InvalidSpecifier:
        return False
    return any(
        clause.operator in _LOWER_BOUNDS and Version(clause.version.removesuffix(".*")).major == 2
        for clause in clauses
    )


def fusion_requirement(dbt_version: str) -> str:
    """The ``dbt`` requirement of the v2 engine for ``dbt_version`` (see :func:`is_fusion`)."""
    text = str(dbt_version).strip()
    if text.lower() in FUSION_ALIASES:
        return FUSION_REQUIREMENT
    try:
        return f"dbt=={Version(text)}"  # "2.0.0-preview.196" normalizes to 2.0.0rc196
    except InvalidVersion:
        return f"dbt{SpecifierSet(text)}"


def dbt_core_requirement(dbt_version: str | None) -> str:
    """``dbt-core`` with ``dbt_version`` applied.

    ``"1.11.2"`` pins exactly; ``"1.11"`` and ``"1.11.*"`` mean any 1.11.x; anything else must be a PEP 440
    specifier such as ``">=1.10,<1.12"``. ``None`` means :data:`DEFAULT_DBT_VERSION`.
    """
    text = (DEFAULT_DBT_VERSION if dbt_version is None else str(dbt_version)).strip()
    if _BARE_VERSION.match(text):
        parts = text.removesuffix(".*").split(".")
        text = "==" + ".".join(parts) + (".*" if len(parts) < 3 or text.endswith(".*") else "")
    try:
        specifier = SpecifierSet(text)
    except InvalidSpecifier:
        dlt_order = (
            ""
            if any(c.isdigit() for c in text)
            else " (dlt's get_venv(pipeline, venv_path, dbt_version) has another order: pass venv_path= by name)"
        )
        raise ConfigurationError(
            f'dbt_version={dbt_version!r} is neither a version ("1.11.2", "1.11") nor a version specifier '
            f'(">=1.10,<1.12"); the default is "{DEFAULT_DBT_VERSION}"{dlt_order}'
        ) from None
    if not str(specifier):
        raise ConfigurationError(f'dbt_version={dbt_version!r} is empty; omit it for "{DEFAULT_DBT_VERSION}"')
    return f"dbt-core{specifier}"


def adapter_requirements(name: str) -> tuple[str, ...]:
    """An adapter given by its dbt or destination type (``"duckdb"``, ``"motherduck"``, ``"mssql"``) or as a
    distribution requirement (``"dbt-duckdb"``, ``"dbt-postgres>=1.9"``)."""
    from dbt_kickoff import profiles

    text = str(name).strip()
    if re.match(r"dbt[-_.]", text, re.IGNORECASE):
        try:
            requirement = Requirement(text)
        except InvalidRequirement as exc:
            raise ConfigurationError(f"adapter {name!r} is not a valid requirement: {exc}") from None
        if requirement.url or requirement.marker:
            raise ConfigurationError(
                f"adapter {name!r}: give a name and optional version, not a URL or marker"
            )
        return (str(requirement),)
    if text.lower() in EXTRA_ADAPTERS:
        return (EXTRA_ADAPTERS[text.lower()],)
    try:
        return profiles.dbt_packages_for(text)
    except ConfigurationError:
        known = ", ".join(sorted({*profiles.supported_types(), *EXTRA_ADAPTERS}))
        raise ConfigurationError(
            f"unknown dbt adapter {name!r}: use an adapter or destination type ({known}), or a distribution "
            "name starting with 'dbt-' (for example 'dbt-duckdb')"
        ) from None


def destination_requirements(destination: Any) -> tuple[str, ...]:
    """The adapter distributions a destination needs: a type name (``"duckdb"``), a URL (only its scheme
    matters), a mapping with a ``type`` key, or anything ``resolve_destination`` accepts (a dlt pipeline)."""
    from dbt_kickoff import profiles
    from dbt_kickoff.profiles.adapters import adapter_for_scheme
    from dbt_kickoff.profiles.urls import url_scheme

    if isinstance(destination, str):
        scheme = url_scheme(destination) if "://" in destination else None
        if scheme is None:
            return adapter_requirements(destination)
        return adapter_for_scheme(scheme, profiles.redact_url(destination)).packages
    if isinstance(destination, Mapping) and "type" in destination:
        return adapter_requirements(str(destination["type"]))
    dlt_destination = getattr(destination, "destination", None)  # a dlt pipeline: no credentials needed here
    destination_type = getattr(dlt_destination, "destination_type", None)
    if isinstance(destination_type, str):
        return adapter_requirements(destination_type)
    profile = profiles.resolve_destination(destination)
    return profile.dbt_packages if profile is not None else ()


def resolve_requirements(
    destination: Any, dbt_version: str | None, adapters: Iterable[str] | str | None
) -> tuple[str, ...]:
    """The normalized, sorted requirement set: dbt-core plus ``adapters`` (or those of ``destination``); for
    the dbt v2 engine (:func:`is_fusion`) only its ``dbt`` distribution, since its adapters are built in."""
    if is_fusion(dbt_version):
        assert dbt_version is not None
        return (fusion_requirement(dbt_version),)
    if isinstance(adapters, str):
        adapters = [adapters]
    if adapters is not None:
        adapter_reqs = [req for name in adapters for req in adapter_requirements(name)]
    elif destination is not None:
        adapter_reqs = list(destination_requirements(destination))
    else:
        raise ConfigurationError(
            "get_venv needs a destination (URL, mapping, dlt pipeline or destination type) or adapters= "
            "(for example adapters=['duckdb']) to know which dbt adapter to install"
        )
    if not adapter_reqs:
        raise ConfigurationError("no dbt adapter given: pass adapters= (for example adapters=['duckdb'])")
    return normalize([dbt_core_requirement(dbt_version), *adapter_reqs])


def normalize(requirements: Iterable[str]) -> tuple[str, ...]:
    """Merge requirements by canonical name (specifiers are intersected) and sort them."""
    merged: dict[str, SpecifierSet] = {}
    extras: dict[str, set[str]] = {}
    for text in requirements:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        merged[name] = merged.get(name, SpecifierSet()) & requirement.specifier
        extras.setdefault(name, set()).update(requirement.extras)
    return tuple(
        name + (f"[{','.join(sorted(extras[name]))}]" if extras[name] else "") + str(merged[name])
        for name in sorted(merged)
    )
