"""What one dbt command's outcome means: nothing (it succeeded) or the typed error that fits its failure."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from dbt_kickoff.engines import fusion
from dbt_kickoff.engines.base import InvocationOutcome
from dbt_kickoff.errors import DbtCancelled, DBTProcessingError, IncrementalSchemaOutOfSyncError, PrerequisitesException
from dbt_kickoff.results import NodeResult, describe_failures

OUT_OF_SYNC_MARKER = "out of sync"
_ADAPTER_MISSING = re.compile(r"Could not find adapter type (\w+)|No module named 'dbt\.adapters\.(\w+)'")
_DEPS_NETWORK = re.compile(
    r"hub\.getdbt\.com|Failed to establish a new connection|Name or service not known|Temporary failure in name "
    r"resolution|Max retries exceeded|ConnectionError|Network is unreachable|Could not resolve host",
    re.IGNORECASE,
)


def is_out_of_sync(results: Sequence[NodeResult], outcome: InvocationOutcome) -> bool:
    """True when an incremental model failed because its schema is out of sync with its table."""
    texts = [r.message or "" for r in results if r.is_failure] + outcome.errors + [outcome.error or ""]
    return any(OUT_OF_SYNC_MARKER in text.lower() for text in texts)


def raise_for_outcome(command_name: str, results: list[NodeResult], outcome: InvocationOutcome,
                      earlier: Sequence[NodeResult] = (), project_dir: Path | None = None) -> None:
    """Raise the typed error that fits a failed command; return when it succeeded. ``earlier``: results of
    the run's previous steps, which a cancel reports with this step's; ``project_dir`` is named in fixes."""
    if outcome.cancelled:
        running = sorted({node.name for node in outcome.running_nodes})
        finished = [r for r in results if r.unique_id not in {node.unique_id for node in outcome.running_nodes}]
        raise DbtCancelled(
            f"dbt {command_name} was stopped ({outcome.cancelled}) after {len(finished)} node(s) finished"
            + (f"; running then: {', '.join(running)}" if running else ""),
            results=[*earlier, *finished], running=running, reason=outcome.cancelled, command=command_name,
        )
    if outcome.success:
        return
    failed = [r for r in results if r.is_failure]
    detail = outcome.error or ("\n".join(outcome.errors[-8:]) if not failed else None)
    text = "\n".join(filter(None, [outcome.error, *outcome.errors]))
    adapter = _ADAPTER_MISSING.search(text)
    if adapter and not failed:
        name = adapter.group(1) or adapter.group(2)
        raise PrerequisitesException(
            f"the dbt adapter '{name}' is not installed where dbt runs: install dbt-{name} there, or use "
            f"dbt_kickoff.get_venv(destination) to get an environment with it"
        )
    prerequisites = fusion.prerequisites_error([*outcome.errors, outcome.error or ""], nodes_failed=bool(failed),
                                               project_dir=project_dir)
    if prerequisites is not None:  # the dbt v2 engine refused the project or its setup
        raise prerequisites
    if command_name == "deps" and _DEPS_NETWORK.search(text):
        detail = (
            "dbt deps could not download the packages listed in packages.yml / dependencies.yml (no network "
            "access to the dbt hub or the package's git host?). Vendor the packages into the project "
            "(dbt_packages/ or a local: package) or run where the hub can be reached.\n" + (detail or "")
        )
    message = describe_failures(command_name, results, extra=detail)
    error_type = IncrementalSchemaOutOfSyncError if is_out_of_sync(results, outcome) else DBTProcessingError
    raise error_type(command_name, results, message)
