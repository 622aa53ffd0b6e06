"""What a dbt project holds (target/log folders, seeds, packages) and one command's outcome as results or a
typed error."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import yaml

from dbt_kickoff.atomic import write_atomically
from dbt_kickoff.engines import InvocationOutcome, NodeEvent, fusion
from dbt_kickoff.errors import DbtCancelled, DBTProcessingError, IncrementalSchemaOutOfSyncError, PrerequisitesException
from dbt_kickoff.fingerprint import project_fingerprint
from dbt_kickoff.results import NodeResult, describe_failures, load_run_results

OUT_OF_SYNC_MARKER = "out of sync"
_ADAPTER_MISSING = re.compile(r"Could not find adapter type (\w+)|No module named 'dbt\.adapters\.(\w+)'")
_DEPS_NETWORK = re.compile(
    r"hub\.getdbt\.com|Failed to establish a new connection|Name or service not known|Temporary failure in name "
    r"resolution|Max retries exceeded|ConnectionError|Network is unreachable|Could not resolve host",
    re.IGNORECASE,
)


def target_dir(project_dir: Path, project: Mapping[str, object]) -> Path:
    """Where dbt writes artifacts for this project (``DBT_TARGET_PATH``, ``target-path`` or ``target``)."""
    configured = os.environ.get("DBT_TARGET_PATH") or project.get("target-path") or "target"
    path = Path(str(configured))
    return path if path.is_absolute() else project_dir / path


def log_dir(project_dir: Path, project: Mapping[str, object]) -> Path:
    """Where dbt writes its log file (``DBT_LOG_PATH``, ``log-path`` or ``logs``)."""
    configured = os.environ.get("DBT_LOG_PATH") or project.get("log-path") or "logs"
    path = Path(str(configured))
    return path if path.is_absolute() else project_dir / path


def ensure_writable(folder: Path, what: str, setting: str) -> None:
    """Create ``folder`` when absent and prove a file can be written in it, so dbt does not fail half-way;
    else :class:`PrerequisitesException` naming the folder. ``setting``: how to point dbt elsewhere."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".dbt-kickoff-probe-"):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise PrerequisitesException(
            f"dbt cannot write its {what} to {folder} ({reason}): make that folder writable, or point {setting} "
            "to a writable folder"
        ) from None


def ensure_output_folders(project_dir: Path, project: Mapping[str, object], target: Path | None) -> None:
    """Check, before dbt starts, that it can write its log file and (for ``target``) its artifacts."""
    ensure_writable(log_dir(project_dir, project), "log file", "log-path in dbt_project.yml (or DBT_LOG_PATH)")
    if target is not None:
        ensure_writable(target, "artifacts", "target-path in dbt_project.yml (or DBT_TARGET_PATH)")


def files_fingerprint(project_dir: Path, project: Mapping[str, object]) -> str:
    """The fingerprint of the project's files (:func:`~dbt_kickoff.fingerprint.project_fingerprint`), leaving out
    the target and log folders dbt writes into."""
    written = (target_dir(project_dir, project), log_dir(project_dir, project))
    return project_fingerprint(project_dir, [path.name for path in written if path.parent == project_dir])


def has_package_dependencies(project_dir: Path) -> bool:
    """True when packages.yml / dependencies.yml lists packages (so ``dbt deps`` has work to do)."""
    for name in ("packages.yml", "dependencies.yml"):
        path = project_dir / name
        if path.is_file():
            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            except yaml.YAMLError as exc:
                raise PrerequisitesException(f"{path} is not valid YAML: {exc}") from None
            if isinstance(data, dict) and data.get("packages"):
                return True
    return False


DEPS_STAMP = ".dbt-kickoff-deps"


def packages_dir(project_dir: Path, project: Mapping[str, object]) -> Path:
    """Where ``dbt deps`` installs packages (``packages-install-path``, ``dbt_packages`` by default)."""
    path = Path(str(project.get("packages-install-path") or "dbt_packages"))
    return path if path.is_absolute() else project_dir / path


def dependencies_fingerprint(project_dir: Path, project: Mapping[str, object]) -> str:
    """Changes when the declared or locked packages change, or installed packages are added or removed."""
    digest = hashlib.blake2b(digest_size=16)
    for name in ("packages.yml", "dependencies.yml", "package-lock.yml"):
        path = project_dir / name
        digest.update(name.encode() + (path.read_bytes() if path.is_file() else b"-"))
    installed = packages_dir(project_dir, project)
    names = sorted(p.name for p in installed.iterdir() if p.is_dir()) if installed.is_dir() else ["<missing>"]
    digest.update("\0".join(names).encode())
    return digest.hexdigest()


def dependencies_installed(project_dir: Path, project: Mapping[str, object]) -> bool:
    """True when the last successful ``dbt deps`` (of any process) installed exactly what is declared now."""
    stamp = packages_dir(project_dir, project) / DEPS_STAMP
    try:
        return stamp.read_text(encoding="utf-8").strip() == dependencies_fingerprint(project_dir, project)
    except OSError:
        return False


def remember_dependencies(project_dir: Path, project: Mapping[str, object]) -> None:
    """Keep the fingerprint beside the installed packages, so a new process can skip ``dbt deps``."""
    folder = packages_dir(project_dir, project)
    if folder.is_dir():
        write_atomically(folder / DEPS_STAMP, dependencies_fingerprint(project_dir, project))


def has_seeds(project_dir: Path, project: Mapping[str, object]) -> bool:
    """True when any seed-path of the project holds a CSV file (so ``dbt seed`` has work to do)."""
    seed_paths = project.get("seed-paths") or project.get("data-paths") or ["seeds"]
    if not isinstance(seed_paths, list):
        return True  # an unusual configuration: let dbt decide
    return any(next((project_dir / str(p)).rglob("*.csv"), None) is not None for p in seed_paths)


def results_file(command: Sequence[str], target: Path) -> Path:
    """``source freshness`` writes sources.json; every other command writes run_results.json."""
    if list(command[:2]) == ["source", "freshness"]:
        return target / "sources.json"
    return target / "run_results.json"


def result_from_event(node: NodeEvent) -> NodeResult:
    """A node result from dbt's live NodeFinished event (when no run_results.json was written)."""
    return NodeResult(model_name=node.name, unique_id=node.unique_id, resource_type=node.resource_type,
                      status=node.status or "unknown", time=float(node.execution_time or 0.0), message=node.message)


def read_results(command: Sequence[str], target: Path, outcome: InvocationOutcome) -> list[NodeResult]:
    """The node results this invocation wrote (a stale file is never used). A command that was stopped or
    whose dbt died may have written none: then the nodes that finished, from the live events."""
    path = results_file(command, target)
    loader = fusion.load_run_results if fusion.wrote(path) else load_run_results  # the dbt v2 engine's, or v1's
    written = loader(path, outcome.invocation_id) if outcome.invocation_id else None
    if written is not None:
        return written
    if outcome.cancelled or outcome.crashed:
        return [result_from_event(node) for node in outcome.finished_nodes]
    return []


def is_out_of_sync(results: Sequence[NodeResult], outcome: InvocationOutcome) -> bool:
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
