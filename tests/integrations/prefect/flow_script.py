"""Runs in the Prefect test venv (``python flow_script.py SCENARIO CONFIG_JSON``); prints one JSON line.

Every scenario runs against Prefect's own test harness (a temporary Prefect server and database) and reads back
what Prefect recorded: flow and task run states and artifacts. ``harness`` starts one, prints its API URL and
keeps it until stdin closes, so that the scenarios of a test module share one server (each one migrates a new
database, which takes a minute on a busy machine); without ``PREFECT_API_URL`` a scenario starts its own.

- ``run``: the flow end to end on the package; then again with a failing data test.
- ``cloud``: the dbt Cloud task against the emulator: a run that succeeds; a task whose first try fails after
  triggering (Prefect retries it: it must reattach, not start a second run); a task timeout (cancels the run).
- ``api_cancel``: the flow served by a Prefect runner (its own process); a run started from its deployment is
  cancelled through the API while dbt runs, and the runner stops the flow run's process as Prefect does.
- ``stop``: the task with a timeout on a model that never ends; then the flow process is sent SIGTERM (what
  Prefect's runner does to a cancelled flow run) while that model's query runs. Each time the dbt worker
  processes seen while dbt ran must be gone when the flow returns, and the DuckDB file released.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from prefect import flow, runtime
from prefect.client.orchestration import get_client
from prefect.testing.utilities import prefect_test_harness

from dbt_kickoff.integrations.prefect import dbt_package_flow, run_dbt_cloud_job_task, run_dbt_package
from dbt_kickoff_emulator import DbtCloudEmulator, RunScript


def workers(root: int | None = None) -> list[int]:
    """dbt worker processes (running dbt-kickoff's worker script) below ``root`` (this process by default)."""
    parents: dict[int, int] = {}
    commands: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            commands[int(entry.name)] = (entry / "cmdline").read_bytes().decode(errors="replace")
        except (OSError, IndexError, ValueError):
            continue
    top = root or os.getpid()

    def below(pid: int) -> bool:
        while pid > 1:
            pid = parents.get(pid, 0)
            if pid == top:
                return True
        return False

    return [pid for pid, cmd in commands.items() if "worker_script.py" in cmd and below(pid)]


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class WorkerWatch:
    """Records the dbt workers seen while a flow runs; optionally acts once, ``after`` seconds after ``ready()``
    (default: a worker exists) first holds — or 300 s after a worker appeared, so that a ``ready`` that never
    holds fails the scenario's checks instead of hanging it."""

    def __init__(self, action: Any = None, after: float = 3.0, root: int | None = None, ready: Any = None) -> None:
        self.seen: set[int] = set()
        self._root = root
        self._stop = threading.Event()
        self._action, self._after, self._ready = action, after, ready
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> WorkerWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        first_seen = worker_since = None
        while not self._stop.is_set():
            current = workers(self._root)
            self.seen.update(current)
            if current and worker_since is None:
                worker_since = time.monotonic()
            gave_up = worker_since is not None and time.monotonic() - worker_since > 300
            if current and first_seen is None and (self._ready is None or self._ready() or gave_up):
                first_seen = time.monotonic()
            if self._action and first_seen is not None and time.monotonic() - first_seen > self._after:
                self._action()
                self._action = None
            time.sleep(0.1)

    def report(self) -> dict[str, Any]:
        return {"workers_seen": len(self.seen), "workers_left": [p for p in self.seen if alive(p)]}


def slow_model_starts(package: str) -> int:
    """How many times dbt started the slow model's query in this package (its own log says so)."""
    log = Path(package, "logs", "dbt.log")
    text = log.read_text(errors="replace") if log.is_file() else ""
    return len(re.findall(r"START sql table model \w+\.slow ", text))


def database_released(database: str) -> bool:
    """Whether no process holds the DuckDB file any more (DuckDB lets one process open it for writing) and the
    slow model's table was never created."""
    import duckdb

    try:
        with duckdb.connect(database) as con:
            return con.execute("select count(*) from information_schema.tables where table_name = 'slow'"
                               ).fetchone() == (0,)
    except duckdb.IOException:  # "Could not set lock on file": a dbt worker still has it open
        return False


def states(flow_run_id: Any) -> dict[str, Any]:
    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_run(flow_run_id)
        from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

        task_runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
        artifacts = client.read_artifacts()
        return {
            "flow": flow_run.state.name if flow_run.state else None,
            "tasks": {t.name: t.state.name if t.state else None for t in task_runs},
            "artifacts": [{"key": a.key, "type": a.type, "data": a.data, "description": a.description,
                           "flow_run_id": str(a.flow_run_id)} for a in artifacts if a.flow_run_id == flow_run_id],
        }


def run_flow(**kwargs: Any) -> dict[str, Any]:
    state = dbt_package_flow(return_state=True, **kwargs)
    out = states(state.state_details.flow_run_id)
    if state.is_completed():
        out["results"] = [{"name": r.model_name, "status": r.status} for r in state.result()]
    else:
        out["message"] = state.message
    return out


@flow(name="cancellable")
def cancellable(package: str, destination: str) -> None:
    run_dbt_package(package, destination, command="run", cmd_params=["--select", "slow"],
                    source_dataset_name="raw_data")


def cancel_through_the_api(config: dict[str, Any]) -> dict[str, Any]:
    """Serve the flow (a Prefect runner in its own process), start a run from its deployment, and cancel it
    from the API once dbt is at work: the runner stops the flow run's process the way Prefect does."""
    from prefect.settings import PREFECT_API_URL
    from prefect.states import Cancelling

    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value()), "PREFECT_RUNNER_POLL_FREQUENCY": "1"}
    served = subprocess.Popen([sys.executable, __file__, "serve", "{}"], env=env)
    try:
        with get_client(sync_client=True) as client:
            deadline = time.monotonic() + 300
            deployment = None
            while deployment is None:
                try:
                    deployment = client.read_deployment_by_name("cancellable/cancellable")
                except Exception:
                    if time.monotonic() > deadline or served.poll() is not None:
                        raise
                    time.sleep(0.5)
            run = client.create_flow_run_from_deployment(
                deployment.id, parameters={"package": config["package"], "destination": config["destination"]})
            with WorkerWatch(root=served.pid) as watch:
                while not watch.seen:
                    if time.monotonic() > deadline:
                        raise TimeoutError("dbt never started in the served flow run")
                    time.sleep(0.2)
                time.sleep(3)  # let dbt get into the slow query
                client.set_flow_run_state(run.id, Cancelling(), force=True)
                state = client.read_flow_run(run.id).state
                while state is not None and not state.is_final() and time.monotonic() < deadline:
                    time.sleep(0.5)
                    state = client.read_flow_run(run.id).state
                time.sleep(1)
            return {**states(run.id), **watch.report()}
    finally:
        served.terminate()
        served.wait(timeout=60)


def cloud_scenarios() -> dict[str, Any]:
    account, job, token = 7, 4242, "dbtc_prefect-test-token"
    out: dict[str, Any] = {}
    os.environ["XDG_STATE_HOME"] = tempfile.mkdtemp(prefix="prefect-cloud-state-")  # ledger and run records
    with DbtCloudEmulator() as emulator:
        emulator.add_account(account, "Prefect tests")
        emulator.add_token(token, account_ids=[account])
        emulator.add_job(account, job, "Nightly", execute_steps=["dbt build"])
        creds = {"api_token": token, "account_id": account, "base_url": emulator.base_url}

        @flow(name="cloud")
        def cloud(retries: int = 0, timeout_seconds: float | None = None) -> dict[str, Any]:
            task = run_dbt_cloud_job_task.with_options(retries=retries, retry_delay_seconds=0,
                                                       timeout_seconds=timeout_seconds)
            return dict(task(job_id=job, credentials=creds, wait_seconds=0.05))

        def attempt(name: str, **kwargs: Any) -> None:
            before = set(emulator.run_ids(job))
            state = cloud(return_state=True, **kwargs)
            out[name] = {**states(state.state_details.flow_run_id),
                         "new_runs": [emulator.peek_run(i)["status_humanized"]
                                      for i in sorted(set(emulator.run_ids(job)) - before)],
                         "returned": state.result(raise_on_failure=False) if state.is_completed() else None,
                         "message": state.message}

        emulator.script_next_run(job, RunScript(running_polls=16))  # the build's nodes finish over a few polls
        attempt("ok")
        out["ok"]["records"] = sorted(p.parent.name for p in Path(os.environ["XDG_STATE_HOME"]).rglob("report.json"))
        emulator.faults.fail(403, route="get_run", times=1)  # the first try fails once its run exists
        attempt("retried", retries=1)
        emulator.script_next_run(job, RunScript(queued_polls=0, starting_polls=0, running_polls=0,
                                                running_seconds=3600, cancel_polls=0))
        attempt("timed_out", timeout_seconds=5)
    return out


def main(scenario: str, config: dict[str, Any]) -> dict[str, Any]:
    package = {"package_location": config.get("package"), "destination": config.get("destination"),
               "source_dataset_name": "raw_data", "dataset_name": "analytics"}
    out: dict[str, Any] = {}
    shared = bool(os.environ.get("PREFECT_API_URL"))
    with contextlib.nullcontext() if shared else prefect_test_harness(server_startup_timeout=300):
        if scenario == "run":
            out["ok"] = run_flow(**package)
            out["failing"] = run_flow(**package, additional_vars={"fail_test": True})
        elif scenario == "api_cancel":
            out["api_cancel"] = cancel_through_the_api(config)
        elif scenario == "cloud":
            out.update(cloud_scenarios())
        elif scenario == "stop":
            slow = {**package, "command": "run", "cmd_params": ["--select", "slow"]}
            with WorkerWatch() as watch:
                out["timeout"] = run_flow(**slow, timeout_seconds=float(config["timeout"]))
            out["timeout"].update(watch.report(), database_released=database_released(config["database"]))

            ids: dict[str, Any] = {}

            @flow(name="cancelled")
            def cancelled() -> None:
                ids["flow_run"] = runtime.flow_run.id
                run_dbt_package(config["package"], config["destination"], command="run",
                                cmd_params=["--select", "slow"], source_dataset_name="raw_data")

            # Prefect turns SIGTERM into TerminationSignal while the flow runs, reports the crash, then sends
            # the signal again to the handler it replaced so that the process ends (with Python's default
            # handler: at once, exit -15, nothing reported). This handler stands in for that default: it
            # records the redelivery, so this process lives on to check that dbt stopped first.
            redelivered: list[int] = []
            previous = signal.signal(signal.SIGTERM, lambda signum, frame: redelivered.append(signum))
            before = slow_model_starts(config["package"])
            raised = None
            try:
                with WorkerWatch(action=lambda: os.kill(os.getpid(), signal.SIGTERM), after=2.0,
                                 ready=lambda: slow_model_starts(config["package"]) > before) as watch:
                    try:
                        cancelled()
                    except BaseException as exc:  # the termination signal, after the flow run has ended
                        raised = type(exc).__name__
            finally:
                signal.signal(signal.SIGTERM, previous)
            started = slow_model_starts(config["package"]) > before
            out["sigterm"] = {**states(ids["flow_run"]), **watch.report(), "raised": raised, "redelivered": redelivered,
                              "query_started": started, "database_released": database_released(config["database"])}
    return out


def harness() -> None:
    from prefect.settings import PREFECT_API_URL

    with prefect_test_harness(server_startup_timeout=300):
        print(json.dumps({"api_url": PREFECT_API_URL.value()}), flush=True)
        sys.stdin.read()  # until the test module is done


if __name__ == "__main__" and sys.argv[1] == "serve":
    cancellable.serve(name="cancellable")
elif __name__ == "__main__" and sys.argv[1] == "harness":
    harness()
elif __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], json.loads(sys.argv[2])), default=str), flush=True)
