"""The public emulator object: configure accounts, tokens, jobs, scripts and faults; start/stop the server."""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterable
from datetime import datetime
from types import TracebackType
from typing import Any

from dbt_kickoff_emulator.clock import Clock, RealClock
from dbt_kickoff_emulator.dispatch import Dispatcher
from dbt_kickoff_emulator.faults import Faults
from dbt_kickoff_emulator.models import Account, Environment, Job, Project, RunScript, Token
from dbt_kickoff_emulator.recording import RecordedRequest, Recorder
from dbt_kickoff_emulator.server import EmulatorHTTPServer
from dbt_kickoff_emulator.state import EmulatorState

DEFAULT_PROJECT_ID = 70403103987401
DEFAULT_ENVIRONMENT_ID = 70403103987402
POLL_INTERVAL = 0.02  # how quickly stop() is noticed by the serving thread


class DbtCloudEmulator:
    """A dbt Cloud Administrative API v2 server on loopback. See the package docstring for a tour."""

    def __init__(self, clock: Clock | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.clock: Clock = clock or RealClock()
        self.faults = Faults()
        self._state = EmulatorState(self.clock, self.faults)
        self._recorder = Recorder()
        self._stopping = threading.Event()
        self._address = (host, port)
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------------------------------------

    def start(self) -> DbtCloudEmulator:
        """Bind and serve in a background thread; returns self."""
        if self._server is not None:
            return self
        self._stopping.clear()
        dispatcher = Dispatcher(self._state, self._recorder, self._stopping.wait)
        server = EmulatorHTTPServer(self._address, dispatcher, self._stopping)
        with self._state.lock:
            self._state.base_url = f"http://{self._address[0]}:{server.server_port}"
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, args=(POLL_INTERVAL,), name="dbt-cloud-emulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket (slow replies in progress are cut short)."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> DbtCloudEmulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (the access URL; the API lives under ``/api/v2/``)."""
        if self._server is None:
            raise RuntimeError("the emulator is not started; call start() or use it as a context manager")
        return self._state.base_url

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1])

    # --- resources -----------------------------------------------------------------------------------------

    def add_account(
        self,
        account_id: int = 1,
        name: str = "Emulated account",
        *,
        run_slots: int = 5,
        queue_limit: int = 50,
        run_duration_limit_seconds: int = 86400,
        static_subdomain: str | None = None,
    ) -> Account:
        """Create an account."""
        account = Account(
            account_id,
            name,
            run_slots,
            queue_limit,
            run_duration_limit_seconds,
            static_subdomain,
            self.clock.now(),
        )
        with self._state.lock:
            self._state.accounts[account_id] = account
        return account

    def add_token(
        self,
        value: str,
        *,
        account_ids: Iterable[int] = (1,),
        kind: str = "service",
        can_read: bool = True,
        can_trigger: bool = True,
        ip_denied: bool = False,
        user_id: int | None = None,
    ) -> Token:
        """Register a token; a PAT must name exactly one account."""
        if kind not in ("service", "pat"):
            raise ValueError("token kind must be 'service' or 'pat'")
        ids = tuple(account_ids)
        if kind == "pat" and len(ids) != 1:
            raise ValueError("a personal access token belongs to exactly one account")
        token = Token(
            value,
            ids,
            "pat" if kind == "pat" else "service",
            can_read,
            can_trigger,
            ip_denied,
            user_id if user_id is not None or kind == "service" else 1,
        )
        with self._state.lock:
            self._state.tokens[value] = token
        return token

    def revoke_token(self, value: str) -> None:
        """Make a token invalid (401) from now on."""
        with self._state.lock:
            self._state.tokens[value].revoked = True

    def add_project(
        self, account_id: int = 1, project_id: int = DEFAULT_PROJECT_ID, name: str = "Analytics"
    ) -> Project:
        """Create (or rename) a project."""
        with self._state.lock:
            self._require_account(account_id)
            project = Project(project_id, account_id, name)
            self._state.projects[project_id] = project
        return project

    def add_environment(
        self,
        account_id: int = 1,
        project_id: int = DEFAULT_PROJECT_ID,
        environment_id: int = DEFAULT_ENVIRONMENT_ID,
        name: str = "Production",
        *,
        deployment_type: str | None = "production",
        dbt_version: str = "versionless",
    ) -> Environment:
        """Create (or replace) an environment; its project is created when missing."""
        with self._state.lock:
            if project_id not in self._state.projects:
                self.add_project(account_id, project_id)
            environment = Environment(
                environment_id, account_id, project_id, name, deployment_type, dbt_version
            )
            self._state.environments[environment_id] = environment
        return environment

    def _require_account(self, account_id: int) -> None:
        if account_id not in self._state.accounts:
            raise ValueError(f"add account {account_id} before its projects, environments and jobs")

    def add_job(
        self,
        account_id: int = 1,
        job_id: int | None = None,
        name: str = "Daily build",
        *,
        execute_steps: Iterable[str] = ("dbt build",),
        generate_docs: bool = False,
        run_generate_sources: bool = False,
        timeout_seconds: int = 0,
        job_type: str = "scheduled",
        project_id: int = DEFAULT_PROJECT_ID,
        environment_id: int = DEFAULT_ENVIRONMENT_ID,
        state: int = 1,
        dbt_version: str | None = None,
        description: str = "",
        script: RunScript | None = None,
    ) -> Job:
        """Create a job (and its project/environment when missing); ``script`` is the default progression of
        its runs (else ``default_script``)."""
        with self._state.lock:
            self._require_account(account_id)
            if environment_id not in self._state.environments:
                self.add_environment(account_id, project_id, environment_id)
            if job_id is None:
                job_id = max(self._state.jobs, default=70403103900000) + 1
            now = self.clock.now()
            job = Job(
                id=job_id,
                account_id=account_id,
                project_id=project_id,
                environment_id=environment_id,
                name=name,
                execute_steps=list(execute_steps),
                description=description,
                dbt_version=dbt_version,
                generate_docs=generate_docs,
                run_generate_sources=run_generate_sources,
                timeout_seconds=timeout_seconds,
                job_type=job_type,
                state=state,
                created_at=now,
                updated_at=now,
                script=script,
            )
            self._state.jobs[job_id] = job
        return job

    def delete_job(self, job_id: int) -> None:
        """Mark a job deleted (state 2); its in-flight runs are cancelled."""
        with self._state.lock:
            self._state.delete_job(job_id)

    # --- progression ---------------------------------------------------------------------------------------

    @property
    def default_script(self) -> RunScript:
        """The script of runs of jobs without one (default: one poll in each in-progress state, success)."""
        return self._state.default_script

    @default_script.setter
    def default_script(self, script: RunScript) -> None:
        with self._state.lock:
            self._state.default_script = script

    def script_next_run(self, job_id: int, script: RunScript) -> None:
        """Use ``script`` for the next run of ``job_id`` (trigger, rerun or retry); calls queue up."""
        with self._state.lock:
            if job_id not in self._state.jobs:
                raise ValueError(f"unknown job {job_id}")
            self._state.push_script(job_id, script)

    # --- inspection ----------------------------------------------------------------------------------------

    def run_ids(self, job_id: int | None = None) -> list[int]:
        """Ids of every run (of one job), oldest first."""
        with self._state.lock:
            return sorted(r.id for r in self._state.runs.values() if job_id is None or r.job_id == job_id)

    def peek_run(
        self, run_id: int, include_related: Collection[str] = ("trigger", "run_steps")
    ) -> dict[str, Any]:
        """The run as the API would return it, without counting a poll."""
        with self._state.lock:
            self._state.settle()
            return self._state.run_json(self._state.runs[run_id], include_related)

    def trigger_body(self, run_id: int) -> dict[str, Any]:
        """The exact JSON body that created the run (unknown keys included)."""
        with self._state.lock:
            return dict(self._state.runs[run_id].trigger_body)

    def now(self) -> datetime:
        """The emulator clock's time."""
        return self.clock.now()

    @property
    def internal_errors(self) -> list[Exception]:
        """Exceptions raised inside handlers (each answered as a 500); empty unless the emulator has a bug."""
        with self._state.lock:
            return list(self._state.internal_errors)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received, oldest first, with token values masked."""
        return self._recorder.requests

    @property
    def route_counts(self) -> dict[str, int]:
        """Requests per route name (``"get_run"``, ``"trigger"``, …; ``"unknown"`` for unmatched paths)."""
        return self._recorder.counts

    def clear_requests(self) -> None:
        """Forget recorded requests and counters."""
        self._recorder.clear()

    def __repr__(self) -> str:
        where = self._state.base_url if self._server is not None else "stopped"
        return f"DbtCloudEmulator({where})"
