"""dbt's node selection (``--select``, ``--exclude``, ``--selector``) worked out on a parsed manifest, without dbt.

What an orchestrator needs when it renders a package from a stored manifest at parse time: the same nodes
``dbt build --select ... --exclude ...`` would run. Supported: the methods ``fqn`` (the default; a node name, a
package name or a dotted fqn prefix, with ``*`` wildcards), ``tag``, ``path``, ``file``, ``resource_type``,
``package``, ``config.<key>``, ``source``, ``exposure``, ``test_type``, ``test_name``, ``access``, ``group``,
``version`` and ``selector``; the graph operators ``+`` (with depths: ``2+model``, ``model+1``) and ``@``; unions
(space-separated specs, or a list) and intersections (``a,b``); YAML selectors (``selectors.yml``, as the manifest
keeps them) with ``union``/``intersection``/``exclude``, ``parents``/``children`` and their depths; and dbt's
default (eager) indirect selection of tests. Methods that need dbt's state or results (``state:``, ``result:``,
``source_status:``) raise :class:`~dbt_kickoff.errors.ConfigurationError`: dbt must evaluate those.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import PurePosixPath
from typing import Any

from dbt_kickoff.errors import ConfigurationError

NEEDS_DBT = frozenset({"state", "result", "source_status"})
RUNNABLE = frozenset({"model", "seed", "snapshot", "test", "unit_test"})
"""What ``dbt build`` runs (sources, exposures, metrics... are selectable but never run)."""
TEST_TYPES = frozenset({"test", "unit_test"})
_SPEC = re.compile(r"^(?P<childrens_parents>@)?(?:(?P<parents_depth>\d*)(?P<parents>\+))?(?P<body>.*?)"
                   r"(?:(?P<children>\+)(?P<children_depth>\d*))?$")
_PATH_HINT = re.compile(r"[/\\]|\.(sql|py|csv|yml|yaml)$")

Selection = str | Sequence[str] | None


class ManifestSelector:
    """Evaluates dbt selectors on one manifest (the mapping of dbt's ``manifest.json``)."""

    def __init__(self, manifest: Mapping[str, Any]) -> None:
        self.manifest = manifest
        self.nodes: dict[str, Mapping[str, Any]] = {}
        for key in ("nodes", "sources", "exposures", "metrics", "semantic_models", "saved_queries", "unit_tests"):
            self.nodes.update(manifest.get(key) or {})
        self.parents: dict[str, list[str]] = {uid: [] for uid in self.nodes}
        self.children: dict[str, list[str]] = {uid: [] for uid in self.nodes}
        for uid, node in self.nodes.items():
            for parent in (node.get("depends_on") or {}).get("nodes") or ():
                if parent in self.nodes:
                    self.parents[uid].append(parent)
                    self.children[parent].append(uid)
        self.project_name = str((manifest.get("metadata") or {}).get("project_name") or "")
        self.indirect_tests = True

    # -- the public entry point ---------------------------------------------------------------------------------
    def select(self, select: Selection = None, exclude: Selection = None, selector: str | None = None,
               *, indirect_tests: bool = True) -> set[str]:
        """The unique ids dbt would run: ``select`` (everything when ``None``) and/or the YAML ``selector``, minus
        ``exclude``. As in dbt, each criterion takes the tests of what it picks along (eager indirect selection;
        ``indirect_tests=False``: none), so excluding a model excludes its tests too. Sources, exposures and
        other nodes dbt does not run are not returned."""
        self.indirect_tests = indirect_tests
        chosen: set[str] | None = None
        if select:
            chosen = self.union(_specs(select))
        if selector:
            from_yaml = self.named_selector(selector)
            chosen = from_yaml if chosen is None else chosen & from_yaml
        if chosen is None:
            chosen = set(self.nodes)
        if exclude:
            chosen -= self.union(_specs(exclude))
        return {uid for uid in chosen if self.nodes[uid].get("resource_type") in RUNNABLE}

    def with_tests(self, chosen: set[str]) -> set[str]:
        """``chosen`` and the tests of what it holds (those with any parent in it), when indirect selection is on."""
        if not self.indirect_tests:
            return chosen
        return chosen | {child for uid in chosen for child in self.children.get(uid, ())
                         if self.nodes[child].get("resource_type") in TEST_TYPES}

    # -- CLI syntax -----------------------------------------------------------------------------------------------
    def union(self, specs: Iterable[str]) -> set[str]:
        """Space-separated specs (or a list of them): the union of each one's nodes."""
        found: set[str] = set()
        for spec in specs:
            found |= self.intersection(spec)
        return found

    def intersection(self, spec: str) -> set[str]:
        """``a,b,c``: the nodes every comma-separated part selects."""
        parts = [part for part in spec.split(",") if part]
        result = self.one(parts[0])
        for part in parts[1:]:
            result &= self.one(part)
        return result

    def one(self, spec: str) -> set[str]:
        """One spec: ``[@][N+]method:value[+N]``."""
        match = _SPEC.match(spec.strip())
        if match is None or not match["body"]:
            raise ConfigurationError(f"{spec!r} is not a dbt selector")
        method, _, value = match["body"].partition(":") if ":" in match["body"] else ("", "", match["body"])
        if not method:
            method = "path" if _PATH_HINT.search(value) else "fqn"
        start = self.by_method(method, value)
        return self.with_tests(self.expand(
            start, parents=bool(match["parents"]), parents_depth=_depth(match["parents_depth"]),
            children=bool(match["children"]), children_depth=_depth(match["children_depth"]),
            childrens_parents=bool(match["childrens_parents"])))

    def expand(self, start: set[str], *, parents: bool = False, parents_depth: int | None = None,
               children: bool = False, children_depth: int | None = None, childrens_parents: bool = False) -> set[str]:
        """``start`` with the graph operators applied (``+`` up/down with a depth, ``@``)."""
        result = set(start)
        if childrens_parents:
            below = start | _walk(start, self.children, None)
            return below | _walk(below, self.parents, None)
        if parents:
            result |= _walk(start, self.parents, parents_depth)
        if children:
            result |= _walk(start, self.children, children_depth)
        return result

    # -- methods ----------------------------------------------------------------------------------------------
    def by_method(self, method: str, value: str) -> set[str]:
        """The nodes one selector method picks (without graph operators)."""
        base = method.split(".", 1)[0]
        if base in NEEDS_DBT:
            raise ConfigurationError(
                f"the selector method {method}: needs dbt's state or results, which a rendering from a stored "
                "manifest does not have: select with other methods (or use changed_only=True for state:modified)"
            )
        if method == "selector":
            return self.named_selector(value)
        if base == "config":
            key = method.partition(".")[2]
            if not key:
                raise ConfigurationError(f"config:{value} needs a config key, e.g. config.materialized:{value}")
            return {uid for uid, node in self.nodes.items() if _config_matches(node, key, value)}
        matcher = _METHODS.get(method)
        if matcher is None:
            known = ", ".join(sorted([*_METHODS, "config.<key>", "selector"]))
            raise ConfigurationError(f"unknown dbt selector method {method!r} (known here: {known})")
        return {uid for uid, node in self.nodes.items() if matcher(self, node, value)}

    # -- YAML selectors ---------------------------------------------------------------------------------------
    def named_selector(self, name: str) -> set[str]:
        """The nodes of the YAML selector ``name`` (from the project's ``selectors.yml``)."""
        selectors = self.manifest.get("selectors") or {}
        entry = selectors.get(name)
        if entry is None:
            known = ", ".join(sorted(selectors)) or "none"
            raise ConfigurationError(f"there is no YAML selector {name!r} in this package (selectors: {known})")
        return self.definition(entry.get("definition", entry))

    def definition(self, definition: Any) -> set[str]:
        """One YAML selector definition: a CLI-style string, ``union``/``intersection`` lists (items may be
        ``{"exclude": [...]}``), or a method with ``value``, ``parents``, ``children``... (or ``{method: value}``)."""
        if isinstance(definition, str):
            return self.union(definition.split())
        if not isinstance(definition, Mapping):
            raise ConfigurationError(f"a YAML selector definition must be a string or a mapping, not {definition!r}")
        for kind in ("union", "intersection"):
            if kind in definition:
                included = [item for item in definition[kind] if not _is_exclude(item)]
                excluded = [item for item in definition[kind] if _is_exclude(item)]
                sets = [self.definition(item) for item in included]
                result = set().union(*sets) if kind == "union" else (set.intersection(*sets) if sets else set())
                for item in excluded:
                    result -= self.definition({"union": list(item["exclude"])})
                return result
        if "method" in definition:
            method, value = str(definition["method"]), str(definition.get("value", ""))
        else:
            keys = [key for key in definition if key not in _GRAPH_KEYS]
            if len(keys) != 1:
                raise ConfigurationError(f"cannot read the YAML selector definition {dict(definition)!r}")
            method, value = keys[0], str(definition[keys[0]])
        result = self.expand(
            self.by_method(method, value),
            parents=bool(definition.get("parents")), parents_depth=definition.get("parents_depth"),
            children=bool(definition.get("children")), children_depth=definition.get("children_depth"),
            childrens_parents=bool(definition.get("childrens_parents")),
        )
        if definition.get("indirect_selection", "eager") == "eager":
            result = self.with_tests(result)
        if "exclude" in definition:
            result -= self.definition({"union": list(definition["exclude"])})
        return result


_GRAPH_KEYS = frozenset({"parents", "children", "parents_depth", "children_depth", "childrens_parents",
                         "indirect_selection", "exclude", "description", "default"})


def _is_exclude(item: Any) -> bool:
    return isinstance(item, Mapping) and set(item) == {"exclude"}


def _specs(selection: Selection) -> list[str]:
    """A selection as dbt's argument list: a string (space-separated specs) or a list of strings."""
    if selection is None:
        return []
    items = [selection] if isinstance(selection, str) else list(selection)
    return [spec for item in items for spec in str(item).split()]


def _depth(text: str | None) -> int | None:
    return int(text) if text else None


def _walk(start: Iterable[str], edges: Mapping[str, Sequence[str]], depth: int | None) -> set[str]:
    """Everything reachable from ``start`` along ``edges`` within ``depth`` steps (``None``: any), not ``start``."""
    found: set[str] = set()
    frontier = set(start)
    step = 0
    while frontier and (depth is None or step < depth):
        step += 1
        frontier = {nxt for uid in frontier for nxt in edges.get(uid, ()) if nxt not in found}
        found |= frontier
    return found


def _fqn(self: ManifestSelector, node: Mapping[str, Any], value: str) -> bool:
    """dbt's fqn matching: the node's name exactly, or a dotted prefix of its fqn (``this`` = the project), where
    a part with a wildcard matches the rest of the fqn; a bare wildcard also matches the name."""
    fqn = [str(part) for part in node.get("fqn") or ()]
    if not fqn:
        return False
    versioned = node.get("version") is not None and len(fqn) > 1
    leaf = fqn[-2] if versioned else fqn[-1]
    if value == leaf or (versioned and "_".join(fqn[-2:]) == "_".join(value.split(".")[-2:])):
        return True
    flat = [item for segment in fqn for item in segment.split(".")]
    parts = value.split(".")
    if parts[0] == "this" and self.project_name:
        parts[0] = self.project_name
    if len(flat) < len(parts):
        return False
    for index, part in enumerate(parts):
        if any(char in part for char in "*?[]"):
            if fnmatch.fnmatchcase(".".join(flat[index:]), ".".join(parts[index:])):
                return True
            return len(parts) == 1 and fnmatch.fnmatchcase(leaf, value)
        if flat[index] != part:
            return False
    return True


def _tag(self: ManifestSelector, node: Mapping[str, Any], value: str) -> bool:
    return any(fnmatch.fnmatchcase(str(tag), value) for tag in node.get("tags") or ())


def _path(self: ManifestSelector, node: Mapping[str, Any], value: str) -> bool:
    """A file or folder (glob) relative to the project: the node's file, a folder above it, or the YAML file
    that describes it."""
    want = value.rstrip("/").removeprefix("./")
    file = PurePosixPath(str(node.get("original_file_path") or ""))
    patch = str(node.get("patch_path") or "").split("://", 1)[-1]
    candidates = [str(file), *(str(parent) for parent in file.parents if str(parent) != ".")]
    candidates += [patch] if patch else []
    return any(fnmatch.fnmatchcase(candidate, want) for candidate in candidates)


def _file(self: ManifestSelector, node: Mapping[str, Any], value: str) -> bool:
    file = PurePosixPath(str(node.get("original_file_path") or ""))
    return fnmatch.fnmatchcase(file.name, value) or fnmatch.fnmatchcase(file.stem, value)


def _resource_type(self: ManifestSelector, node: Mapping[str, Any], value: str) -> bool:
    return node.get("resource_type") == value


def _package(self: ManifestSelector, node: Mapping[str, Any], value: str) -> bool:
    wanted = self.project_name if value == "this" else value
    return fnmatch.fnmatchcase(str(node.get("package_name") or ""), wanted)


def _source(self: ManifestSelector, node: Mapping[str, Any], value: str) -> bool:
    if node.get("resource_type") != "source":
        return False
    parts = value.split(".")
    have = [str(node.get("package_name")), str(node.get("source_name")), str(node.get("name"))]
    if len(parts) == 3:
        return all(fnmatch.fnmatchcase(h, w) for h, w in zip(have, parts, strict=True))
    return all(fnmatch.fnmatchcase(h, w) for h, w in zip(have[1:], parts, strict=False))


def _named(resource_type: str) -> Any:
    def match(self: ManifestSelector, node: Mapping[str, Any], value: str) -> bool:
        return node.get("resource_type") == resource_type and fnmatch.fnmatchcase(str(node.get("name")), value)

    return match


def _test_type(self: ManifestSelector, node: Mapping[str, Any], value: str) -> bool:
    kind = node.get("resource_type")
    if kind == "unit_test":
        return value == "unit"
    if kind != "test":
        return False
    generic = bool(node.get("test_metadata"))
    return (value in ("data", "generic") and generic) or (value in ("data", "singular") and not generic)


def _test_name(self: ManifestSelector, node: Mapping[str, Any], value: str) -> bool:
    name = (node.get("test_metadata") or {}).get("name")
    return node.get("resource_type") == "test" and name is not None and fnmatch.fnmatchcase(str(name), value)


def _attribute(key: str) -> Any:
    def match(self: ManifestSelector, node: Mapping[str, Any], value: str) -> bool:
        have = node.get(key)
        if have is None:
            have = (node.get("config") or {}).get(key)
        return have is not None and fnmatch.fnmatchcase(str(have), value)

    return match


def _config_matches(node: Mapping[str, Any], key: str, value: str) -> bool:
    have: Any = node.get("config") or {}
    for part in key.split("."):  # config.meta.owner: a nested key
        have = have.get(part) if isinstance(have, Mapping) else None
    if isinstance(have, (list, tuple)):
        return any(str(item) == value for item in have)
    if isinstance(have, bool):
        return str(have).lower() == value.lower()
    return have is not None and fnmatch.fnmatchcase(str(have), value)


_METHODS: dict[str, Any] = {
    "fqn": _fqn,
    "tag": _tag,
    "path": _path,
    "file": _file,
    "resource_type": _resource_type,
    "package": _package,
    "source": _source,
    "exposure": _named("exposure"),
    "metric": _named("metric"),
    "semantic_model": _named("semantic_model"),
    "saved_query": _named("saved_query"),
    "unit_test": _named("unit_test"),
    "test_type": _test_type,
    "test_name": _test_name,
    "access": _attribute("access"),
    "group": _attribute("group"),
    "version": _attribute("version"),
}
