"""Generate a synthetic dbt package of N models in layers, with seeds and tests, for the benchmarks.

Layer 1 reads the seeds; each model of layer k joins one to three models of earlier layers on ``id``, so the
DAG is wide and deep like a real project. Every model keeps one row per seed ``id``, so ``unique`` and
``relationships`` tests hold. About one model in five is a table, the rest are views. Deterministic for a
given ``seed``.

    python bench/generate_package.py OUT_DIR --models 200
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

PROJECT_NAME = "bench_generated"


def generate_package(
    target: Path, models: int = 200, *, seeds: int = 4, layers: int = 5, rows: int = 200, seed: int = 0
) -> Path:
    """Write the package into ``target`` (created; must be empty or absent) and return it."""
    if models < layers:
        raise ValueError(f"need at least one model per layer ({layers}), got {models}")
    target.mkdir(parents=True, exist_ok=True)
    if any(target.iterdir()):
        raise ValueError(f"{target} is not empty")
    rng = random.Random(seed)
    (target / "dbt_project.yml").write_text(
        f"name: {PROJECT_NAME}\nversion: '1.0.0'\nconfig-version: 2\nprofile: {PROJECT_NAME}\n"
        "flags:\n  send_anonymous_usage_stats: false\n"
        f"models:\n  {PROJECT_NAME}:\n    +materialized: view\n",
        encoding="utf-8",
    )
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


def _model_sql(parents: list[str], rng: random.Random, *, table: bool) -> str:
    config = "{{ config(materialized='table') }}\n" if table else ""
    factor = rng.randint(1, 9)
    base, *others = parents
    amount = " + ".join(
        [f"p0.amount * {factor}"] + [f"coalesce(p{i}.amount, 0)" for i in range(1, len(parents))]
    )
    joins = "".join(
        f"left join {{{{ ref('{other}') }}}} as p{i} on p{i}.id = p0.id\n"
        for i, other in enumerate(others, 1)
    )
    return (
        f"{config}select\n    p0.id,\n    p0.group_id,\n    {amount} as amount,\n    p0.label,\n"
        f"    p0.created_on\nfrom {{{{ ref('{base}') }}}} as p0\n{joins}"
    )


def _model_tests(name: str, parent: str, index: int) -> list[str]:
    lines = [f"  - name: {name}"]
    tests: list[str] = []
    if index % 2 == 0:
        tests += ["          - unique", "          - not_null"]
    if index % 7 == 0:
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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("target", type=Path)
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--layers", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=4)
    args = parser.parse_args()
    generate_package(args.target, args.models, seeds=args.seeds, layers=args.layers)
    print(f"wrote {args.models} models to {args.target}")


if __name__ == "__main__":
    main()
