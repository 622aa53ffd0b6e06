"""One machine of the warm-state benchmark and tests (``tests/warm``), as a whole process: clone the package
(git) to the folder given, optionally edit it, run one call of dbt-kickoff with the run records on S3, and print
what happened as one JSON line.

    python bench/warm_machine.py '{"origin": ..., "clone": ..., "destination": ..., "records": ..., "call": "build"}'

Keys: ``origin`` (git URL, cloned to ``clone``; without it ``clone`` is used as it is), ``edits`` (relative path
-> text appended), ``destination``, ``dataset``, ``records``, ``records_options``, ``call`` (``build``, ``parse``
or ``manifest``), ``cmd_params``, ``threads``, ``warm_state``. ``started`` (epoch seconds, the process start as the
parent saw it) lets the report say when the first model started.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any


def _parse_seconds(target: Path) -> float | None:
    """How long dbt took to load the manifest (its own ``perf_info.json``), when it parsed."""
    try:
        return float(json.loads((target / "perf_info.json").read_text())["load_all_elapsed"])
    except (OSError, ValueError, KeyError):
        return None


def main() -> None:
    config: dict[str, Any] = json.loads(sys.argv[1])
    started = float(config.get("started") or time.time())
    clone = Path(config["clone"])
    if config.get("origin"):
        subprocess.run(["git", "clone", "-q", config["origin"], str(clone)], check=True)
    for relative, text in (config.get("edits") or {}).items():
        path = clone / relative
        path.write_text(path.read_text() + text)
    first_model: list[float] = []

    def on_event(event: Any) -> None:
        node = event.node
        if not first_model and node is not None and node.resource_type == "model" and not event.finished:
            first_model.append(time.time() - started)

    import dbt_kickoff

    imported = time.time() - started
    call = config.get("call", "build")
    runner = dbt_kickoff.package(
        config["destination"], clone, dataset_name=config.get("dataset"), records=config["records"],
        records_options=config.get("records_options"), threads=config.get("threads", 4), on_event=on_event,
        warm_state=config.get("warm_state", True), warm_start=call != "manifest",
    )
    out: dict[str, Any] = {"imported_s": imported}
    with runner:
        if call == "manifest":
            asked = time.time()
            manifest = runner.manifest()
            out.update(nodes=len(manifest["nodes"]), dbt_started=runner.session.engine is not None,
                       manifest_s=time.time() - asked)
        elif call == "parse":
            runner.invoke(["parse"])
        else:
            results = runner.build(list(config.get("cmd_params") or ()))
            out["statuses"] = dict(Counter(r.status for r in results))
        report = runner.last_report
        out.update(
            seconds=time.time() - started,
            first_model_s=first_model[0] if first_model else None,
            steps=[s.command for s in report.steps],
            step_seconds={s.command: s.duration for s in report.steps},
            report=report.to_dict() if call != "manifest" else None,
            parse_s=_parse_seconds(runner.target_path()),
        )
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
