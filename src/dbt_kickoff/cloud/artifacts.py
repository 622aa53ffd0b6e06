"""Run results: pick the step whose ``run_results.json`` describes the job's work, turn it into
:class:`~dbt_kickoff.results.NodeResult`, and download artifact files.

The flows here are shared by the sync and async runners (see :mod:`.flows`); :func:`fetch_node_results` and
:func:`download_artifacts` run them with a sync client."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from dbt_kickoff.atomic import write_atomically
from dbt_kickoff.cloud.client import DbtCloudClient
from dbt_kickoff.cloud.errors import DbtCloudAPIError, DbtCloudNotFoundError
from dbt_kickoff.cloud.flows import Flow, call, run_flow
from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.results import NodeResult, parse_run_results

logger = logging.getLogger(__name__)

# dbt commands whose run_results.json lists the nodes they executed (not docs generate, deps, parse...).
RESULT_COMMANDS = frozenset({"build", "run", "test", "seed", "snapshot", "retry", "clone"})
_RAN = (10, 20, 30)  # a step that started and finished (success, error, cancelled)
_COMMAND = re.compile(r"`([^`]*)`")


def step_command(step: Mapping[str, Any]) -> str | None:
    """The dbt sub-command of a step named like "Invoke dbt with `dbt build -s tag:x`" (``build``)."""
    match = _COMMAND.search(str(step.get("name") or ""))
    if not match:
        return None
    words = [w for w in match.group(1).split() if not w.startswith("-")]
    if words and words[0] == "dbt":
        words = words[1:]
    if not words:
        return None
    if words[0] in ("docs", "source") and len(words) > 1:
        return f"{words[0]} {words[1]}"
    return words[0]


def result_steps(run: Mapping[str, Any]) -> list[int]:
    """1-based indexes of the finished steps whose ``run_results.json`` holds node results, in order.

    Setup steps, ``dbt deps``, ``dbt docs generate`` and ``dbt source freshness`` are left out, so the docs
    step that dbt Cloud serves by default never stands in for the build.
    """
    steps = sorted(run.get("run_steps") or [], key=lambda s: int(s.get("index") or 0))
    return [
        int(s["index"])
        for s in steps
        if step_command(s) in RESULT_COMMANDS and s.get("status") in _RAN and s.get("index") is not None
    ]


def fetch_node_results(client: DbtCloudClient, run: Mapping[str, Any]) -> list[NodeResult]:
    """Node results of every result-producing step of ``run`` (its steps are fetched unless included).

    A step without a ``run_results.json`` (dbt failed before writing it) contributes nothing.
    """
    return run_flow(node_results_flow(run), client)


def node_results_flow(run: Mapping[str, Any]) -> Flow[list[NodeResult]]:
    """The flow of :func:`fetch_node_results`."""
    if not run.get("run_steps"):  # dbt Cloud sends [] when run_steps was not requested
        run = yield call("get_run", int(run["id"]), ("run_steps",))
    results: list[NodeResult] = []
    for index in result_steps(run):
        try:
            raw = yield call("get_artifact", int(run["id"]), "run_results.json", step=index)
        except DbtCloudNotFoundError:
            logger.info("dbt Cloud run %s step %s has no run_results.json", run["id"], index)
            continue
        try:
            document = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise DbtCloudAPIError(
                f"run_results.json of dbt Cloud run {run['id']} step {index} is not valid JSON"
            ) from None
        results.extend(parse_run_results(document))
    return results


def _safe_relative(path: str) -> PurePosixPath:
    rel = PurePosixPath(path.lstrip("/"))
    if not rel.parts or any(part in ("..", "") for part in rel.parts):
        raise DbtCloudAPIError(f"dbt Cloud listed an artifact path that escapes the target folder: {path!r}")
    return rel


def download_artifacts(
    client: DbtCloudClient,
    run_id: int,
    destination: Path | str,
    *,
    step: int | None = None,
    paths: Iterable[str] | None = None,
    include_compiled: bool = False,
) -> list[Path]:
    """Download artifacts of a run into ``destination`` (kept relative to ``target/``); return the files.

    ``paths`` picks files (default: every listed file, without ``compiled/`` and ``run/`` unless
    ``include_compiled``; listed files the step lacks are skipped); ``step`` is the 1-based step to read
    them from (dbt Cloud's default: the last). Each file is written atomically.
    """
    flow = download_flow(run_id, destination, step=step, paths=paths, include_compiled=include_compiled)
    return run_flow(flow, client)


def download_flow(
    run_id: int,
    destination: Path | str,
    *,
    step: int | None = None,
    paths: Iterable[str] | None = None,
    include_compiled: bool = False,
) -> Flow[list[Path]]:
    """The flow of :func:`download_artifacts`."""
    target = Path(destination)
    if target.exists() and not target.is_dir():
        raise ConfigurationError(f"artifact destination {target} exists and is not a folder")
    if paths is not None:
        wanted = list(paths)
    else:
        listed = yield call("list_artifacts", run_id)
        wanted = [p for p in listed if include_compiled or not p.startswith(("compiled/", "run/"))]
    written: list[Path] = []
    for name in wanted:
        rel = _safe_relative(name)
        try:
            content = yield call("get_artifact", run_id, str(rel), step=step)
        except DbtCloudNotFoundError:
            if paths is not None:
                raise
            continue  # the listing spans every step; this step does not have that file
        written.append(write_atomically(target.joinpath(*rel.parts), content))
    return written
