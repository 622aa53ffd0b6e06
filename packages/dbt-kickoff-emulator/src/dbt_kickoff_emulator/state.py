"""All emulator state behind one lock: accounts, tokens, jobs, runs, scheduling, cancel/rerun/retry."""

from __future__ import annotations

import hashlib
import threading
from collections import defaultdict, deque
from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from dbt_kickoff_emulator.clock import Clock
from dbt_kickoff_emulator.faults import Faults
from dbt_kickoff_emulator.models import (
    CANCELLED,
    DOCS_COMMAND,
    ERROR,
    QUEUED,
    RUNNING,
    SETUP_STEP_COUNT,
    SOURCES_COMMAND,
    STARTING,
    Account,
    Environment,
    Job,
    Project,
    Run,
    RunScript,
    Step,
    Token,
)
from dbt_kickoff_emulator.noderuns import retry_subset
from dbt_kickoff_emulator.progression import (
    USER_CANCEL_MESSAGE,
    advance_running,
    dequeue,
    finish_cancelled,
    phase_done,
    start,
)
from dbt_kickoff_emulator.validation import KNOWN_FIELDS
from dbt_kickoff_emulator.wire import environment_object, job_object, run_object, run_timestamp

FIRST_RUN_ID = 70403110257794
FIRST_STEP_ID = 190403110000001
FIRST_TRIGGER_ID = 80403110000001
RERUN_PLAIN_CAUSE = "Triggered via API (rerun of a job whose latest run did not fail)"
JOB_DELETED_MESSAGE = "Cancelled because the job was deleted."


class QueueFull(Exception):
    """The account's queue limit is reached."""


class NotRetryable(Exception):
    """The run cannot be retried; ``reason`` is a RetryNotSupportedReasonEnum value."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class EmulatorState:
    """Resources and runs. Callers hold ``lock`` around every read or change."""

    def __init__(self, clock: Clock, faults: Faults) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.faults = faults
        self.base_url = ""
        self.accounts: dict[int, Account] = {}
        self.tokens: dict[str, Token] = {}
        self.jobs: dict[int, Job] = {}
        self.projects: dict[int, Project] = {}
        self.environments: dict[int, Environment] = {}
        self.runs: dict[int, Run] = {}
        self.default_script = RunScript()
        self.internal_errors: list[Exception] = []
        self._next_scripts: dict[int, deque[RunScript]] = defaultdict(deque)
        self._next_run_id = FIRST_RUN_ID
        self._next_step_id = FIRST_STEP_ID
        self._next_trigger_id = FIRST_TRIGGER_ID

    # --- resources -----------------------------------------------------------------------------------------

    def visible_accounts(self, token: Token) -> list[Account]:
        """Accounts the token can see, by id."""
        return [self.accounts[a] for a in sorted(token.account_ids) if a in self.accounts]

    def account_for(self, token: Token, account_id: int) -> Account | None:
        """The account if it exists and the token belongs to it."""
        account = self.accounts.get(account_id)
        return account if account is not None and account_id in token.account_ids else None

    def job_for(self, token: Token, account_id: int, job_id: int, *, active: bool = False) -> Job | None:
        """The job if the token can see it (and, with ``active``, it is not deleted)."""
        job = self.jobs.get(job_id)
        if job is None or job.account_id != account_id or self.account_for(token, account_id) is None:
            return None
        if not token.can_read or (active and job.state != 1):
            return None
        return job

    def run_for(self, token: Token, account_id: int, run_id: int) -> Run | None:
        """The run if the token can see it."""
        run = self.runs.get(run_id)
        if run is None or run.account_id != account_id or self.account_for(token, account_id) is None:
            return None
        return run if token.can_read else None

    def step_for(self, token: Token, account_id: int, step_id: int) -> tuple[Run, Step] | None:
        """The step (and its run) if the token can see it."""
        for run in self.runs.values():
            if run.account_id != account_id:
                continue
            for step in run.visible_steps:
                if step.id == step_id:
                    return (run, step) if self.run_for(token, account_id, run.id) else None
        return None

    def runs_of(self, account_id: int) -> list[Run]:
        """Every run of an account, by id."""
        return sorted((r for r in self.runs.values() if r.account_id == account_id), key=lambda r: r.id)

    def latest_run(self, job_id: int) -> Run | None:
        """The newest run of a job."""
        runs = [r for r in self.runs.values() if r.job_id == job_id]
        return max(runs, key=lambda r: r.id) if runs else None

    def push_script(self, job_id: int, script: RunScript) -> None:
        """Use ``script`` for the next run of ``job_id`` (scripts queue up in order)."""
        self._next_scripts[job_id].append(script)

    def delete_job(self, job_id: int) -> None:
        """Mark a job deleted; its in-flight runs are cancelled."""
        job = self.jobs[job_id]
        now = self.clock.now()
        job.state = 2
        job.updated_at = now
        for run in self.runs.values():
            if run.job_id == job_id and not run.is_terminal:
                finish_cancelled(run, now, JOB_DELETED_MESSAGE)

    # --- scheduling ----------------------------------------------------------------------------------------

    def timeout_for(self, run: Run) -> int:
        """The effective timeout in seconds (run/job timeout and the account cap; 0 = none)."""
        limits = [run.timeout_seconds, self.accounts[run.account_id].run_duration_limit_seconds]
        positive = [s for s in limits if s and s > 0]
        return min(positive) if positive else 0

    def _blockers(self, run: Run) -> tuple[list[int], bool]:
        """``(blocked_by ids, blocked)`` for a queued run."""
        if not run.uses_run_slot:
            return [], False
        same_job = [r for r in self.runs.values() if r.job_id == run.job_id and r.id != run.id]
        active = sorted(r.id for r in same_job if r.status in (STARTING, RUNNING))
        earlier = sorted(r.id for r in same_job if r.status == QUEUED and r.id < run.id)
        busy = sum(
            1
            for r in self.runs.values()
            if r.account_id == run.account_id and r.uses_run_slot and r.status in (STARTING, RUNNING)
        )
        blocked = bool(active or earlier) or busy >= self.accounts[run.account_id].run_slots
        return (active or earlier), blocked

    def settle(self, polled_run_id: int | None = None) -> None:
        """Apply every transition that is due now (clock, freed slots, finished blockers).

        Poll-counted transitions only happen for ``polled_run_id``, the run being fetched.
        """
        now = self.clock.now()
        changed = True
        while changed:
            changed = False
            for run in sorted((r for r in self.runs.values() if not r.is_terminal), key=lambda r: r.id):
                changed = self._advance(run, now, run.id == polled_run_id) or changed

    def _advance(self, run: Run, now: datetime, polled: bool) -> bool:
        if run.status == QUEUED:
            blocked_by, blocked = self._blockers(run)
            run.blocked_by = blocked_by
            if blocked or not phase_done(run, now, polled):
                return False
            dequeue(run, now)
            return True
        if run.status == STARTING:
            if not phase_done(run, now, polled):
                return False
            start(run, now)
            return True
        return advance_running(run, now, self.timeout_for(run), polled)

    def count_poll(self, run: Run) -> None:
        """Record one GET of the run (drives poll-scripted progression)."""
        run.phase_polls += 1
        if run.cancel_requested_at is not None:
            run.cancel_polls += 1
        run.last_checked_at = self.clock.now()

    # --- creating runs -------------------------------------------------------------------------------------

    def create_run(
        self,
        job: Job,
        fields: dict[str, Any],
        body: dict[str, Any],
        *,
        cause_category: str = "api",
        commands: list[str] | None = None,
        retrying_run_id: int | None = None,
    ) -> Run:
        """Enqueue a run of ``job`` from validated trigger ``fields`` (``body`` is the raw body received)."""
        self.settle()
        account = self.accounts[job.account_id]
        queued = sum(1 for r in self.runs.values() if r.account_id == account.id and r.status == QUEUED)
        if queued >= account.queue_limit:
            raise QueueFull(f"The account's queue limit of {account.queue_limit} queued runs is reached.")
        now = self.clock.now()
        run_id, trigger_id = self._next_run_id, self._next_trigger_id
        self._next_run_id += 1
        self._next_trigger_id += 1
        if commands is None:
            commands = list(fields.get("steps_override") or job.execute_steps)
            docs = fields.get("generate_docs_override")
            if job.run_generate_sources:
                commands.insert(0, SOURCES_COMMAND)
            if job.generate_docs if docs is None else docs:
                commands.append(DOCS_COMMAND)
        scripts = self._next_scripts.get(job.id)
        script = scripts.popleft() if scripts else (job.script or self.default_script)
        timeout = fields.get("timeout_seconds_override")
        trigger = {
            "id": trigger_id,
            "job_definition_id": job.id,
            **fields,
            "cause_category": cause_category,
            "created_at": run_timestamp(now),
            "updated_at": run_timestamp(now),
        }
        run = Run(
            id=run_id,
            account_id=job.account_id,
            job_id=job.id,
            project_id=job.project_id,
            environment_id=job.environment_id,
            trigger_id=trigger_id,
            trigger=trigger,
            trigger_body=dict(body),
            script=script,
            steps=self._plan_steps(job, commands),
            created_at=now,
            updated_at=now,
            phase_entered_at=now,
            git_branch=fields.get("git_branch") or "main",
            git_sha=fields.get("git_sha") or hashlib.sha1(str(run_id).encode()).hexdigest(),
            dbt_version=fields.get("dbt_version_override") or job.dbt_version or "versionless",
            timeout_seconds=job.timeout_seconds if timeout is None else timeout,
            uses_run_slot=job.uses_run_slot,
            transient_404s=self.faults.new_run_404s,
            retrying_run_id=retrying_run_id,
        )
        self.runs[run_id] = run
        self.settle()
        return run

    def _plan_steps(self, job: Job, commands: Iterable[str]) -> list[Step]:
        plan: list[tuple[str, str | None]] = [
            ("Clone git repository", None),
            (f"Create profile from connection {job.connection_name}", None),
            ("Invoke dbt with `dbt deps`", "dbt deps"),
        ]
        plan.extend((f"Invoke dbt with `{command}`", command) for command in commands)
        steps = []
        for index, (name, command) in enumerate(plan, start=1):
            steps.append(Step(id=self._next_step_id, index=index, name=name, command=command))
            self._next_step_id += 1
        return steps

    # --- cancel, rerun, retry ------------------------------------------------------------------------------

    def cancel(self, run: Run) -> None:
        """Queued/Starting -> Cancelled now; Running -> Cancelled after the script's cancel polls/seconds."""
        self.settle()
        now = self.clock.now()
        if run.status in (QUEUED, STARTING):
            run.cancel_requested_at = now
            finish_cancelled(run, now, USER_CANCEL_MESSAGE)
            self.settle()
        elif run.status == RUNNING and run.cancel_requested_at is None:
            run.cancel_requested_at = now
            run.cancel_polls = 0
            run.updated_at = now
            self.settle()

    def retry_reason(self, run: Run) -> str | None:
        """Why ``run`` cannot be retried from failure, or None when it can."""
        if run.status != ERROR:
            return "RETRY_NOT_FAILED_RUN"
        latest = self.latest_run(run.job_id)
        if latest is None or latest.id != run.id:
            return "RETRY_NOT_LATEST_RUN"
        if run.final_step <= SETUP_STEP_COUNT:
            return "RETRY_NO_RUN_RESULTS"
        return None

    def failed_and_skipped(self, run: Run) -> tuple[str, list[str]]:
        """The failing step's command and the commands that never ran."""
        commands = [s.command or "" for s in run.steps if s.index >= run.final_step]
        return commands[0], commands[1:]

    def retry(self, run: Run) -> Run:
        """A new run of the failed + skipped steps of ``run`` (raises NotRetryable)."""
        reason = self.retry_reason(run)
        if reason is not None:
            raise NotRetryable(reason)
        failed, skipped = self.failed_and_skipped(run)
        fields = {**dict.fromkeys(KNOWN_FIELDS), "cause": f"Rerun of run {run.id} from its failed step"}
        rerun = self.create_run(
            self.jobs[run.job_id],
            fields,
            {},
            cause_category="rerun",
            commands=[failed, *skipped],
            retrying_run_id=run.id,
        )
        failed_step = run.step_by_index(run.final_step)
        first = rerun.step_by_index(SETUP_STEP_COUNT + 1)
        if failed_step is not None and first is not None and failed_step.node_runs:
            first.node_ids = retry_subset(failed_step.node_runs)  # dbt retry: what failed, was skipped or undone
        return rerun

    def rerun(self, job: Job) -> Run:
        """Retry the job's latest run when it failed, else trigger it plainly."""
        self.settle()
        latest = self.latest_run(job.id)
        if latest is not None and self.retry_reason(latest) is None:
            return self.retry(latest)
        return self.create_run(job, {**dict.fromkeys(KNOWN_FIELDS), "cause": RERUN_PLAIN_CAUSE}, {})

    # --- serialization -------------------------------------------------------------------------------------

    def run_json(self, run: Run, include: Collection[str]) -> dict[str, Any]:
        """The wire form of a run."""
        job = self.jobs[run.job_id]
        latest = self.latest_run(run.job_id)
        related: dict[str, Any] = {}
        if "job" in include:
            related["job"] = job_object(job)
        if "environment" in include:
            related["environment"] = environment_object(self.environments[job.environment_id])
        body = run_object(
            run,
            base_url=self.base_url,
            now=self.clock.now(),
            include=include,
            related=related,
            latest_run_id=latest.id if latest else None,
        )
        if run.status == CANCELLED and run.started_at is None:
            body["run_duration"] = "00:00:00"
        return body

    def job_json(self, job: Job, include: Collection[str]) -> dict[str, Any]:
        """The wire form of a job, with the requested related objects."""
        related: dict[str, Any] = {}
        runs = sorted((r for r in self.runs.values() if r.job_id == job.id), key=lambda r: r.id)
        if "environment" in include:
            related["environment"] = environment_object(self.environments[job.environment_id])
        if "most_recent_run" in include:
            related["most_recent_run"] = self.run_json(runs[-1], ()) if runs else None
        if "most_recent_completed_run" in include:
            done = [r for r in runs if r.is_terminal]
            related["most_recent_completed_run"] = self.run_json(done[-1], ()) if done else None
        if "custom_environment_variables" in include:
            related["custom_environment_variables"] = []
        return job_object(job, related=related)
