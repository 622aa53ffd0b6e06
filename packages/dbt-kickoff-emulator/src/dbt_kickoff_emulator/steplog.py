"""A step's logs as dbt writes them: the console log (``logs``) and the debug log (``debug_logs``), line by line.

Line shapes follow dbt-core 1.x: ``N of M START <description> ..... [RUN]``, then one result line per node
(``OK created``, ``ERROR creating``, ``OK loaded seed file``, ``PASS``, ``WARN 1``, ``FAIL 1``, ``SKIP relation``,
``PASS freshness of``…) padded with dots to 80 columns and ending with ``[<status> in <seconds>s]``. Console lines
start with ``HH:MM:SS`` and two spaces; debug lines with ``HH:MM:SS.ffffff [level] [thread]: ``, and the debug log
also has dbt's per-node debug lines (``Began running node <unique id>``…).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from dbt_kickoff_emulator.artifacts import DBT_VERSION, command_verb
from dbt_kickoff_emulator.noderuns import NodeRun

WIDTH = 80  # dbt's printer width: the message is padded with dots up to it


def fancy_line(index: int, total: int, message: str, status: str, seconds: float | None = None) -> str:
    """dbt's ``format_fancy_output_line``."""
    prefix = f"{index} of {total} {message} "
    timing = "" if seconds is None else f" in {seconds:0.2f}s"
    return f"{prefix.ljust(WIDTH, '.')} [{status}{timing}]"


def _description(run: NodeRun) -> str:
    if run.kind == "model":
        return f"sql table model {run.relation}"
    if run.kind == "seed":
        return f"seed file {run.relation}"
    if run.kind == "snapshot":
        return f"snapshot {run.relation}"
    if run.kind == "source":
        return f"freshness of {run.name}"
    return f"{run.kind} {run.name}"


def start_line(run: NodeRun, total: int) -> str:
    return fancy_line(run.index, total, f"START {_description(run)}", "RUN")


def result_line(run: NodeRun, total: int) -> str:
    """The line dbt prints when the node finished (or was skipped)."""
    seconds = round(run.seconds, 2)
    if run.status == "skipped":
        what = f"relation {run.relation}" if run.kind in ("model", "seed", "snapshot") else f"{run.kind} {run.name}"
        return fancy_line(run.index, total, f"SKIP {what}", "SKIP")
    if run.kind == "source":
        word = {"pass": "PASS", "warn": "WARN", "error": "ERROR STALE"}.get(run.status, "ERROR")
        return fancy_line(run.index, total, f"{word} freshness of {run.name}", word.split()[0], seconds)
    if run.kind == "test":
        word = {"pass": "PASS", "warn": f"WARN {run.failures}", "fail": f"FAIL {run.failures}"}.get(run.status, "ERROR")
        return fancy_line(run.index, total, f"{word} {run.name}", word, seconds)
    if run.status == "error":
        verb = {"seed": "ERROR loading", "snapshot": "ERROR snapshotting"}.get(run.kind, "ERROR creating")
        return fancy_line(run.index, total, f"{verb} {_description(run)}", "ERROR", seconds)
    verb = {"seed": "OK loaded", "snapshot": "OK snapshotted"}.get(run.kind, "OK created")
    return fancy_line(run.index, total, f"{verb} {_description(run)}", str(run.message or "OK"), seconds)


def console(moment: datetime, text: str = "") -> str:
    return f"{moment:%H:%M:%S}  {text}"


def debug(moment: datetime, text: str, *, level: str = "info", thread: str = "MainThread") -> str:
    tag = thread if thread == "MainThread" else f"{thread} ("  # dbt cuts thread names to 10 characters
    return f"{moment:%H:%M:%S.%f} [{level:<5}] [{tag}]: {text}"


def header(command: str, runs: Sequence[NodeRun], moment: datetime) -> list[str]:
    """What dbt prints before the first node."""
    counts = Counter(run.kind for run in runs)
    found = ", ".join(f"{count} {kind}s" for kind, count in sorted(counts.items())) or "0 nodes"
    lines = [f"Running with dbt={DBT_VERSION}", f"Registered adapter: postgres={DBT_VERSION}",
             f"Found {found}, 0 macros", ""]
    if runs:
        lines += ["Concurrency: 4 threads (target='default')", ""]
    elif command_verb(command) not in ("deps", "docs", "source"):
        lines += ["Nothing to do. Try checking your model configs and model specification args"]
    return lines


def footer(runs: Sequence[NodeRun], seconds: float, *, failed: bool) -> list[str]:
    """What dbt prints after the last node: the summary, the failures with their messages, the counts."""
    counts = Counter(run.status for run in runs if run.finished)
    errors = counts["error"] + counts["fail"]
    lines = ["", f"Finished running {len(runs)} nodes in 0 hours 0 minutes and {seconds:0.2f} seconds "
             f"({seconds:0.2f}s).", ""]
    if errors or failed or counts["warn"]:
        lines.append(f"Completed with {errors} error{'s' * (errors != 1)}, 0 partial successes, and "
                     f"{counts['warn']} warning{'s' * (counts['warn'] != 1)}:")
        for run in runs:
            if run.status in ("error", "fail", "warn") and run.finished:
                kind = "Warning" if run.status == "warn" else "Failure" if run.status == "fail" else "Error"
                lines += ["", f"{kind} in {run.kind} {run.name} ({run.kind}s/{run.name}.sql)",
                          *(f"  {line}" for line in str(run.message or "").splitlines())]
        lines.append("")
    else:
        lines += ["Completed successfully", ""]
    passed = counts["success"] + counts["pass"]
    lines.append(f"Done. PASS={passed} WARN={counts['warn']} ERROR={errors} SKIP={counts['skipped']} NO-OP=0 "
                 f"TOTAL={len(runs)}")
    return lines


def node_debug_before(run: NodeRun) -> list[str]:
    """dbt's debug lines from a node's start to its execution."""
    return [f"Began running node {run.unique_id}", f"Began compiling node {run.unique_id}",
            f'Writing injected SQL for node "{run.unique_id}"', f"Began executing node {run.unique_id}"]


def node_debug_after(run: NodeRun) -> list[str]:
    """dbt's debug lines once a node's query is done."""
    lines = [f'On {run.unique_id}: /* {{"app": "dbt", "node_id": "{run.unique_id}"}} */ {run.kind} query']
    if run.rows is not None:
        lines.append(f"SQL status: {run.message} in {run.seconds:0.3f} seconds")
    return lines


def setup_lines(name: str, *, failed: bool) -> list[str]:
    """Logs of a setup step (clone, profile)."""
    return [name, "ERROR: the step failed; see debug logs for details." if failed else "Done."]
