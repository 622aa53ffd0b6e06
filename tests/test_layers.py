"""The import structure holds: modules import only from their own layer or below (at top level, inside
functions and under TYPE_CHECKING alike), and no module reaches into another's private members.

The layers (see DESIGN.md): base types → boxes (sources, profiles, environments, engines, cloud) → the call core →
features (changed, records, lineage, report) → the runner facade → shells (cycles, cli, integrations, demo).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
TESTS = Path(__file__).resolve().parent
PACKAGE = "dbt_kickoff"

LAYERS: dict[str, int] = {
    # L0 base types and mechanisms
    "errors": 0, "results": 0, "reports": 0, "redaction": 0, "processes": 0, "atomic": 0, "fingerprint": 0,
    "validation": 0, "loaded": 0, "signals": 0, "version": 0, "terminal_text": 0, "locks": 0,
    # L1 boxes
    "sources": 1, "profiles": 1, "environments": 1, "engines": 1, "cloud": 1, "integrations.dlt": 1, "autofix": 1,
    # L2 the call core
    "core": 2,
    # L3 features
    "changed": 3, "records": 3, "lineage": 3, "report": 3, "row_counts": 3, "warm": 3,
    # L4 the runner facade; the dbt Cloud runners that leave records and lineage (their client side stays a box)
    "runner": 4, "cloud.__init__": 4, "cloud.api": 4, "cloud.runs": 4, "cloud.async_runs": 4, "cloud.observed": 4,
    # L5 shells
    "cycles": 5, "cli": 5, "integrations": 5, "demo": 5, "progress": 5, "": 5,
}
NAMES = ["base", "boxes", "call core", "features", "runner facade", "shells"]

PRIVATE_REACHES_ALLOWED = {
    # dbt-duckdb keeps its DuckDB instance in class attributes with no public way to let the file go: the warm
    # worker must close it between commands (as a finished dbt process would) so a loader can write the file.
    ("src/dbt_kickoff/engines/worker_script.py", "DuckDBConnectionManager._LOCK"),
    ("src/dbt_kickoff/engines/worker_script.py", "DuckDBConnectionManager._ENV"),
    # os._exit is the documented way to end a forked or dying process without running cleanups.
    ("src/dbt_kickoff/engines/worker_script.py", "os._exit"),
    ("tests/stub_dbt/dbt/cli/main.py", "os._exit"),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> int:
    """The layer of ``dbt_kickoff.x.y``: the longest key of LAYERS that prefixes ``x.y``; a key ``x.__init__``
    names the package ``x`` itself (its ``__init__.py``), which may sit above its own modules."""
    inner = module.removeprefix(PACKAGE).lstrip(".")
    if f"{inner}.__init__" in LAYERS and (SRC / PACKAGE / inner.replace(".", "/") / "__init__.py").is_file():
        return LAYERS[f"{inner}.__init__"]
    for key in sorted(LAYERS, key=len, reverse=True):
        if inner == key or inner.startswith(key + ".") or key == "":
            return LAYERS[key]
    raise AssertionError(f"{module} has no layer: add it to LAYERS")


def is_module(name: str) -> bool:
    path = SRC.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imported(path: Path) -> Iterator[tuple[int, str]]:
    """Every dbt_kickoff module ``path`` imports, anywhere in the file (line, module)."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == PACKAGE:
                    yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            if base.split(".")[0] != PACKAGE:
                continue
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                yield node.lineno, candidate if is_module(candidate) else base


def test_every_import_goes_down_the_layers() -> None:
    wrong = []
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        here = module_name(path)
        for line, target in imported(path):
            if layer_of(target) > layer_of(here):
                wrong.append(f"{path.relative_to(SRC)}:{line}: {here} ({NAMES[layer_of(here)]}) imports {target} "
                             f"({NAMES[layer_of(target)]})")
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


def private_reaches(root: Path) -> Iterator[tuple[str, int, str]]:
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root.parent).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")):
                continue
            owner = node.value
            if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
                continue
            if isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name) and owner.func.id == "super":
                continue
            yield relative, node.lineno, ast.unparse(node)


@pytest.mark.parametrize("root", [SRC / PACKAGE, TESTS], ids=["src", "tests"])
def test_no_module_reaches_into_another_objects_private_members(root: Path) -> None:
    found = [f"{where}:{line}: {text}" for where, line, text in private_reaches(root)
             if (where if root == TESTS else f"src/{where}", text) not in PRIVATE_REACHES_ALLOWED
             and (f"tests/{where.removeprefix('tests/')}", text) not in PRIVATE_REACHES_ALLOWED]
    assert not found, "private members used from outside their object:\n" + "\n".join(found)


def test_the_layer_table_knows_every_top_level_room() -> None:
    rooms = {p.stem if p.is_file() else p.name for p in (SRC / PACKAGE).iterdir()
             if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()}
    assert rooms <= {key.split(".")[0] for key in LAYERS}, rooms - set(LAYERS)
