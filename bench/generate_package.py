"""Generate a synthetic dbt package of N models in layers, with seeds and tests, for the benchmarks.

Layer 1 reads the seeds; each model of layer k joins one to three models of earlier layers on ``id``, so the
DAG is wide and deep like a real project. Every model keeps one row per seed ``id``, so ``unique`` and
``relationships`` tests hold. About one model in five is a table, the rest are views. Deterministic for a
given ``seed``.

:func:`generate_branched_package` writes the same kind of models in independent branches fed by loaded
sources instead of seeds (the package of changed-only builds, issue 11); see its docstring.

    python bench/generate_package.py OUT_DIR --models 200
    python bench/generate_package.py OUT_DIR --models 1000 --branches 6
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_NAME = "bench_generated"
BRANCHED_PROJECT_NAME = "bench_branched"
LABELS = ("alpha", "beta", "gamma", "delta")
FIX_SCHEMA = "raw_fix"


def _start_package(target: Path, name: str) -> None:
    """Create ``target`` (it must be empty or absent) with a ``dbt_project.yml`` for project ``name``."""
    target.mkdir(parents=True, exist_ok=True)
    if any(target.iterdir()):
        raise ValueError(f"{target} is not empty")
    (target / "dbt_project.yml").write_text(
        f"name: {name}\nversion: '1.0.0'\nconfig-version: 2\nprofile: {name}\n"
        "flags:\n  send_anonymous_usage_stats: false\n"
        f"models:\n  {name}:\n    +materialized: view\n",
        encoding="utf-8",
    )


def generate_package(
    target: Path, models: int = 200, *, seeds: int = 4, layers: int = 5, rows: int = 200, seed: int = 0
) -> Path:
    """Write the package into ``target`` (created; must be empty or absent) and return it."""
    if models < layers:
        raise ValueError(f"need at least one model per layer ({layers}), got {models}")
    _start_package(target, PROJECT_NAME)
    rng = random.Random(seed)
    _seeds(target / "seeds", rng, seeds, rows)
    names = [f"seed_{i}" for i in range(seeds)]
    per_layer = [models // layers + (1 if i < models % layers else 0) for i in range(layers)]
    earlier: list[str] = []
    for layer, count in enumerate(per_layer, start=1):
        folder = target / "models" / f"layer_{layer}"
        folder.mkdir(parents=True)
        layer_models = []
        yml = ["models:"]
        for index in range(count):
            name = f"m{layer}_{index:03d}"
            parents = (
                [rng.choice(names)]
                if layer == 1
                else rng.sample(earlier, min(len(earlier), rng.randint(1, 3)))
            )
            (folder / f"{name}.sql").write_text(
                _model_sql(parents, rng, table=index % 5 == 0), encoding="utf-8"
            )
            yml += _model_tests(name, parents[0], index)
            layer_models.append(name)
        (folder / "_models.yml").write_text("\n".join(yml) + "\n", encoding="utf-8")
        earlier = earlier + layer_models
    return target


def _seeds(folder: Path, rng: random.Random, count: int, rows: int) -> None:
    folder.mkdir(parents=True)
    yml = ["seeds:"]
    labels = ["alpha", "beta", "gamma", "delta"]
    for i in range(count):
        lines = ["id,group_id,amount,label,created_on"]
        for row_id in range(1, rows + 1):
            day = 1 + row_id % 28
            lines.append(
                f"{row_id},{rng.randint(1, 10)},{rng.randint(100, 99999) / 100},{rng.choice(labels)},"
                f"2024-02-{day:02d}"
            )
        (folder / f"seed_{i}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        yml += [
            f"  - name: seed_{i}",
            "    columns:",
            "      - name: id",
            "        data_tests: [unique, not_null]",
        ]
    (folder / "_seeds.yml").write_text("\n".join(yml) + "\n", encoding="utf-8")


def _model_sql(
    parents: list[str], rng: random.Random, *, table: bool, base: str | None = None, macro: bool = False
) -> str:
    """A model joining ``parents`` on ``id``; ``base`` replaces the first parent's ``ref`` (a ``source()``),
    ``macro`` computes the amount through the ``scaled`` macro."""
    config = "{{ config(materialized='table') }}\n" if table else ""
    factor = rng.randint(1, 9)
    first, *others = parents
    scaled = f"{{{{ scaled('p0.amount', {factor}) }}}}" if macro else f"p0.amount * {factor}"
    amount = " + ".join([scaled] + [f"coalesce(p{i}.amount, 0)" for i in range(1, len(parents))])
    joins = "".join(
        f"left join {{{{ ref('{other}') }}}} as p{i} on p{i}.id = p0.id\n"
        for i, other in enumerate(others, 1)
    )
    relation = base or f"{{{{ ref('{first}') }}}}"
    return (
        f"{config}select\n    p0.id,\n    p0.group_id,\n    {amount} as amount,\n    p0.label,\n"
        f"    p0.created_on\nfrom {relation} as p0\n{joins}"
    )


def _model_tests(name: str, parent: str | None, index: int) -> list[str]:
    lines = [f"  - name: {name}"]
    tests: list[str] = []
    if index % 2 == 0:
        tests += ["          - unique", "          - not_null"]
    if index % 7 == 0 and parent:
        tests += [
            "          - relationships:",
            "              arguments:",
            f"                to: ref('{parent}')",
            "                field: id",
        ]
    if tests:
        lines += ["    columns:", "      - name: id", "        data_tests:", *tests]
    if index % 10 == 0:  # (index is even, so the columns list exists)
        lines += [
            "      - name: label",
            "        data_tests:",
            "          - accepted_values:",
            "              arguments:",
            "                values: [alpha, beta, gamma, delta]",
        ]
    return lines


@dataclass(frozen=True)
class Branch:
    """One independent branch: its dbt source (``name``), the schema it is loaded into and by which loader."""

    name: str
    loader: str  # "dlt" (a dlt pipeline, no freshness config) or "plain" (a ``loaded_at`` column + freshness)
    schema: str
    tables: tuple[str, ...]


@dataclass(frozen=True)
class BranchedPackage:
    """A generated package and its shape, so tests can tell which nodes a change must reach.

    ``parents`` maps each model to what it reads: model names, ``source:<branch>.<table>`` and ``seed:<name>``.
    """

    path: Path
    branches: tuple[Branch, ...]
    parents: dict[str, tuple[str, ...]]
    macro_users: frozenset[str]
    seed_users: frozenset[str]
    failing_model: str | None
    tests: dict[str, str] = field(default_factory=dict)  # test node name -> the model or source it tests

    @property
    def models(self) -> frozenset[str]:
        return frozenset(self.parents)

    def branch(self, name: str) -> Branch:
        return next(b for b in self.branches if b.name == name)

    def downstream(self, nodes: Iterable[str]) -> frozenset[str]:
        """The models reading ``nodes`` (model names, ``source:b.t``, ``seed:s``), directly or not, and
        the given models themselves."""
        children: dict[str, list[str]] = {}
        for model, reads in self.parents.items():
            for parent in reads:
                children.setdefault(parent, []).append(model)
        found: set[str] = set()
        todo = list(nodes)
        found.update(n for n in todo if n in self.parents)
        while todo:
            for child in children.get(todo.pop(), ()):
                if child not in found:
                    found.add(child)
                    todo.append(child)
        return frozenset(found)


def generate_branched_package(
    target: Path,
    models: int = 1000,
    *,
    branches: int = 6,
    dlt_branches: int = 3,
    tables: int = 5,
    layers: int = 5,
    marts: int = 2,
    failing: bool = True,
    test_every: int = 3,
    seed: int = 0,
) -> BranchedPackage:
    """Write a package of ``models`` models in ``branches`` independent branches into ``target``.

    Branch ``b<k>`` reads its own dbt source ``b<k>`` of ``tables`` tables: the first ``dlt_branches`` are
    loaded by dlt (schema ``dlt_b<k>``), the others by a plain loader (schema ``raw_b<k>``, a ``loaded_at``
    column, ``loaded_at_field`` and freshness configured). Each source table feeds its own stream of models
    in ``layers`` layers (a model joins one to three earlier models of its stream on ``id``); ``marts`` models
    per branch join the last model of every stream, and the first of them the seed ``label_groups``. About
    one model in 30 computes through the macro ``scaled``; one in five is a table. With ``failing``, the
    second layer's first model of the last branch reads ``raw_fix.factors``, a table no loader creates:
    it fails, and its downstream is skipped, until that table exists. Tests: ``not_null`` on every source
    table's ``id``, ``unique``/``not_null``/``relationships``/``accepted_values`` on some models.
    Deterministic for given arguments.
    """
    per_branch = models // branches
    if per_branch < marts + tables * layers:
        raise ValueError(f"{models} models are too few for {branches} branches of {tables} x {layers} layers")
    _start_package(target, BRANCHED_PROJECT_NAME)
    rng = random.Random(seed)
    (target / "macros").mkdir()
    (target / "macros" / "scaled.sql").write_text(SCALED_MACRO, encoding="utf-8")
    (target / "seeds").mkdir()
    (target / "seeds" / "label_groups.csv").write_text(
        "label,label_group\n" + "".join(f"{label},{i % 2 + 1}\n" for i, label in enumerate(LABELS)),
        encoding="utf-8",
    )
    parents: dict[str, tuple[str, ...]] = {}
    macro_users: set[str] = set()
    seed_users: set[str] = set()
    tests: dict[str, str] = {}
    all_branches: list[Branch] = []
    failing_model: str | None = None
    counter = 0
    for k in range(branches):
        loader = "dlt" if k < dlt_branches else "plain"
        branch = Branch(f"b{k}", loader, f"{'dlt' if loader == 'dlt' else 'raw'}_b{k}",
                        tuple(f"t{j}" for j in range(tables)))
        all_branches.append(branch)
        folder = target / "models" / branch.name
        folder.mkdir(parents=True)
        _branch_sources(folder, branch, tests)
        count = per_branch + (1 if k < models % branches else 0) - marts
        per_stream = [count // tables + (1 if j < count % tables else 0) for j in range(tables)]
        yml = ["models:"]
        stream_ends = []
        for j, stream_count in enumerate(per_stream):
            per_layer = [stream_count // layers + (1 if i < stream_count % layers else 0) for i in range(layers)]
            earlier: list[str] = []
            for layer, layer_count in enumerate(per_layer, start=1):
                layer_models = []
                for index in range(layer_count):
                    name = f"{branch.name}_t{j}_m{layer}_{index:03d}"
                    counter += 1
                    macro = layer > 1 and counter % 25 == 7
                    table = index % 5 == 0
                    if layer == 1:
                        reads = [f"source:{branch.name}.t{j}"]
                        sql = _model_sql(["source"], rng, table=table, macro=macro,
                                         base=f"{{{{ source('{branch.name}', 't{j}') }}}}")
                    else:
                        reads = rng.sample(earlier, min(len(earlier), rng.randint(1, 3)))
                        if failing_model in earlier and index == 0 and failing_model not in reads:
                            reads = [*reads[:2], failing_model]  # the failing model always has a downstream
                        sql = _model_sql(reads, rng, table=table, macro=macro)
                    if failing and failing_model is None and k == branches - 1 and j == 0 and layer == 2:
                        failing_model, sql = name, _failing_sql(reads)
                    parents[name] = tuple(reads)
                    if macro:
                        macro_users.add(name)
                    (folder / f"{name}.sql").write_text(sql, encoding="utf-8")
                    yml += _tested(name, None if layer == 1 else reads[0], counter, test_every, tests)
                    layer_models.append(name)
                earlier += layer_models
            stream_ends.append(earlier[-1])
        for m in range(marts):
            name = f"{branch.name}_mart_{m}"
            counter += 1
            reads = list(stream_ends)
            sql = _model_sql(reads, rng, table=True)
            if m == 0:
                sql = _with_seed(sql)
                seed_users.add(name)
                parents[name] = (*reads, "seed:label_groups")
            else:
                parents[name] = tuple(reads)
            (folder / f"{name}.sql").write_text(sql, encoding="utf-8")
            yml += _tested(name, reads[0], 0, test_every, tests)
        (folder / "_models.yml").write_text("\n".join(yml) + "\n", encoding="utf-8")
    return BranchedPackage(target, tuple(all_branches), parents, frozenset(macro_users), frozenset(seed_users),
                           failing_model, tests)


SCALED_MACRO = """{% macro scaled(expression, factor) -%}
    cast(round(cast({{ expression }} * {{ factor }} as numeric), 2) as double precision)
{%- endmacro %}
"""


def _branch_sources(folder: Path, branch: Branch, tests: dict[str, str]) -> None:
    lines = ["sources:", f"  - name: {branch.name}", f"    schema: {branch.schema}"]
    if branch.loader == "plain":
        lines += ["    config:", "      loaded_at_field: loaded_at",
                  "      freshness:", "        warn_after: {count: 3650, period: day}"]
    lines.append("    tables:")
    for table in branch.tables:
        lines += [f"      - name: {table}", "        columns:", "          - name: id",
                  "            data_tests: [not_null]"]
        tests[f"source_not_null_{branch.name}_{table}_id"] = f"source:{branch.name}.{table}"
    (folder / "_sources.yml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _tested(name: str, parent: str | None, counter: int, every: int, tests: dict[str, str]) -> list[str]:
    """The yml entry of a model; one model in ``every`` gets the tests of :func:`_model_tests`."""
    if counter % every:
        return [f"  - name: {name}"]
    lines = _model_tests(name, parent, counter)
    if counter % 2 == 0:
        tests[f"unique_{name}_id"] = tests[f"not_null_{name}_id"] = name
    if counter % 7 == 0 and parent:
        tests[f"relationships_{name}_id__id__ref_{parent}_"] = name
    if counter % 10 == 0:
        tests[f"accepted_values_{name}_label__{'__'.join(LABELS)}"] = name
    return lines


def _failing_sql(reads: list[str]) -> str:
    return (
        "{{ config(materialized='table') }}\n"
        "select\n    p0.id,\n    p0.group_id,\n    p0.amount * coalesce(f.factor, 1) as amount,\n"
        f"    p0.label,\n    p0.created_on\nfrom {{{{ ref('{reads[0]}') }}}} as p0\n"
        f"left join {FIX_SCHEMA}.factors as f on f.group_id = p0.group_id\n"
    )


def _with_seed(sql: str) -> str:
    return sql.replace("    p0.created_on\nfrom", "    p0.created_on,\n    lg.label_group\nfrom", 1) + (
        "left join {{ ref('label_groups') }} as lg on lg.label = p0.label\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("target", type=Path)
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--layers", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--branches", type=int, default=0, help="write the branched package (changed-only)")
    args = parser.parse_args()
    if args.branches:
        generate_branched_package(args.target, args.models, branches=args.branches, layers=args.layers)
    else:
        generate_package(args.target, args.models, seeds=args.seeds, layers=args.layers)
    print(f"wrote {args.models} models to {args.target}")


if __name__ == "__main__":
    main()
