"""Near-real-time refresh: ``load → transform`` every N seconds, never overlapping, stoppable at any time."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

from dbt_kickoff.core.options import CORE_OPTIONS
from dbt_kickoff.errors import ConfigurationError, DbtCancelled, DBTProcessingError
from dbt_kickoff.results import NodeResult
from dbt_kickoff.runner import CallResults, PackageRunner
from dbt_kickoff.validation import validated

logger = logging.getLogger("dbt_kickoff.cycles")

Transform = Literal["build", "run_all"]
Overlap = Literal["wait", "skip"]


@dataclass
class CycleReport:
    """One cycle: what was loaded, what dbt did, how long each part took, and the error if one happened."""

    number: int
    started_at: datetime
    load_seconds: float = 0.0
    transform_seconds: float = 0.0
    loaded: list[str] = field(default_factory=list)
    results: list[NodeResult] = field(default_factory=list)
    skipped: str | None = None
    """Why dbt did not run (``"nothing loaded"``, ``"nothing changed"``), else ``None``."""
    missed_slots: int = 0
    """Slots passed over because the previous cycle ran longer than the interval (``overlap="skip"``)."""
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def seconds(self) -> float:
        return self.load_seconds + self.transform_seconds

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (what ``dbt-kickoff watch --json`` prints per cycle)."""
        return {
            "cycle": self.number, "started_at": self.started_at.isoformat(), "ok": self.ok,
            "load_seconds": round(self.load_seconds, 3), "transform_seconds": round(self.transform_seconds, 3),
            "loaded": self.loaded, "skipped": self.skipped, "missed_slots": self.missed_slots,
            "error": str(self.error) if self.error else None, "results": [r.to_dict() for r in self.results],
        }


def _loaded_names(loaded: Any) -> list[str]:
    if loaded is None:
        return []
    if hasattr(loaded, "load_packages"):
        return sorted(
            f"{loaded.dataset_name}.{job.job_file_info.table_name}"
            for package in loaded.load_packages
            for job in package.jobs.get("completed_jobs", [])
        )
    return sorted(str(item) for item in loaded)


def run_cycle(runner: PackageRunner, load: Callable[[], Any] | None, number: int, *,
              transform: Transform = "build", only_loaded: bool = True, changed_only: bool = False) -> CycleReport:
    """One ``load → transform`` cycle. A failing load or transform is recorded in the report, not raised, and
    a failed load skips the transform (dbt never runs on a broken load). With ``only_loaded`` and a ``load``,
    only what the load touched is built (``dbt build``); otherwise ``transform`` runs on everything, or with
    ``changed_only`` on what changed since the last good run."""
    report = CycleReport(number=number, started_at=datetime.now(timezone.utc))
    try:
        started = time.perf_counter()
        loaded = load() if load is not None else None
        report.load_seconds = time.perf_counter() - started
        report.loaded = _loaded_names(loaded)
        started = time.perf_counter()
        try:
            results = _transform(runner, loaded if load is not None and only_loaded else _ALL, transform,
                                 changed_only)
        finally:
            report.transform_seconds = time.perf_counter() - started
        report.results = list(results)
        report.skipped = results.skipped
    except Exception as exc:  # one bad cycle must not end the loop; the caller sees it in the report
        report.error = exc
        if isinstance(exc, DbtCancelled):
            report.results = exc.results
        elif isinstance(exc, DBTProcessingError):
            report.results = exc.run_results
        logger.error("cycle %s failed: %s", number, exc)
    return report


_ALL = object()


def _transform(runner: PackageRunner, loaded: Any, transform: Transform, changed_only: bool) -> CallResults:
    if loaded is not _ALL:
        return runner.transform_loaded(loaded)
    if transform == "run_all":
        return runner.run_all(changed_only=changed_only)
    return runner.build(changed_only=changed_only)


@validated(CORE_OPTIONS)
def iter_cycles(
    runner: PackageRunner,
    load: Callable[[], Any] | None = None,
    *,
    every: float,
    transform: Transform = "build",
    only_loaded: bool = True,
    max_cycles: int | None = None,
    overlap: Overlap = "wait",
    stop: threading.Event | None = None,
    full_first_cycle: bool = True,
    changed_only: bool = True,
) -> Iterator[CycleReport]:
    """Yield a :class:`CycleReport` per ``load → transform`` cycle, one every ``every`` seconds.

    ``load`` returns what it loaded (a dlt ``LoadInfo`` or ``"schema.table"`` names); with ``only_loaded`` only
    the models downstream of those tables are built, and dbt is skipped when nothing was loaded — except in
    the first cycle when ``full_first_cycle`` (the default), which transforms what changed since the last good
    run (everything when there is no usable run record) so that seeds and models that read no loaded table
    exist too. Without a ``load``, each cycle transforms what changed since the last good run (code, data,
    failures: see ``build(changed_only=True)``); ``changed_only=False`` transforms everything instead, as
    ``only_loaded=False`` does with a ``load``.
    Cycles never overlap: when one runs past its slot, the next starts at once (``overlap="wait"``) or at
    the next free slot (``overlap="skip"``). Setting ``stop`` ends the loop after the current cycle; the
    runner stays open (close it yourself).
    """
    if every <= 0:
        raise ConfigurationError(f"every must be a positive number of seconds, not {every}")
    if overlap not in ("wait", "skip"):
        raise ConfigurationError(f"overlap must be 'wait' or 'skip', not {overlap!r}")
    stop = stop or threading.Event()
    next_start = time.monotonic()
    number = 0
    missed = 0
    while not stop.is_set() and (max_cycles is None or number < max_cycles):
        number += 1
        only_this_cycle = only_loaded and not (full_first_cycle and number == 1)
        changed = changed_only and (load is None or (only_loaded and not only_this_cycle))
        report = run_cycle(runner, load, number, transform=transform, only_loaded=only_this_cycle,
                           changed_only=changed)
        report.missed_slots = missed
        yield report
        next_start += every
        now = time.monotonic()
        missed = 0
        if now > next_start and overlap == "skip":
            missed = int((now - next_start) // every) + 1
            next_start += missed * every
            logger.warning("cycle %s ran past %s slot(s); skipping to the next free slot", number, missed)
        if max_cycles is not None and number >= max_cycles:
            break
        stop.wait(max(0.0, next_start - time.monotonic()))
