"""The emulator's resources: accounts, tokens, jobs, scripts, runs and their steps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from dbt_kickoff_emulator.noderuns import NodeRun

Outcome = Literal["success", "error", "cancelled"]

QUEUED, STARTING, RUNNING, SUCCESS, ERROR, CANCELLED = 1, 2, 3, 10, 20, 30
TERMINAL = (SUCCESS, ERROR, CANCELLED)
NOT_STARTED = 0  # internal: a planned step that has not begun (never on the wire)

SETUP_STEP_COUNT = 3
NODE_STATUSES = ("success", "error", "skipped", "pass", "fail", "warn")
DOCS_COMMAND = "dbt docs generate"
SOURCES_COMMAND = "dbt source freshness"


@dataclass
class Account:
    """A dbt Cloud account with its scheduler limits."""

    id: int
    name: str
    run_slots: int = 5
    queue_limit: int = 50
    run_duration_limit_seconds: int = 86400
    static_subdomain: str | None = None
    created_at: datetime | None = None


@dataclass
class Token:
    """An API token: service token or personal access token (PAT)."""

    value: str
    account_ids: tuple[int, ...]
    kind: Literal["service", "pat"] = "service"
    can_read: bool = True
    can_trigger: bool = True
    ip_denied: bool = False
    user_id: int | None = None
    revoked: bool = False

    def __repr__(self) -> str:  # never show the secret
        return f"Token(kind={self.kind!r}, account_ids={self.account_ids!r}, revoked={self.revoked})"


@dataclass
class Project:
    """A dbt project of an account."""

    id: int
    account_id: int
    name: str


@dataclass
class Environment:
    """A deployment environment of a project."""

    id: int
    account_id: int
    project_id: int
    name: str
    deployment_type: str | None = "production"
    dbt_version: str = "versionless"


@dataclass(frozen=True)
class RunScript:
    """How one run progresses. Both clocks apply: a phase ends once its polls *and* its seconds are spent.

    Polls are GETs of that run (``GET …/runs/{id}/``); seconds are read from the emulator's clock. A phase
    that counts polls ends only during a GET of the run; a clock-only phase ends on any request.
    Scheduling comes first: a queued run also waits for its job's earlier runs and for a free run slot.
    ``failing_step`` is 1-based over all steps (1-3 are setup steps; the first dbt command is step 4) and
    defaults to the first dbt command. ``step_logs``/``debug_logs`` replace a step's log text once it finished
    (while it runs its logs grow node by node), ``run_results`` a step's ``run_results.json`` (``None`` = the
    step has none), ``artifacts`` adds or replaces any file of a step (value ``None`` removes it; bytes are
    served verbatim, e.g. parquet). ``nodes`` are the unique ids of the project (default: a seed, two models and
    a test); each step runs those of its command's resource types, one after the other as the step goes.
    ``node_statuses`` sets the dbt status of nodes (``"error"``, ``"fail"``, ``"warn"``, ``"skipped"``…; the
    others pass); a failing step whose statuses name no failure fails at its first model, the rest skipped.
    ``cancel_polls``/``cancel_seconds``: how long a *running* run takes to reach Cancelled after a cancel.
    """

    queued_polls: int = 1
    starting_polls: int = 1
    running_polls: int = 1
    queued_seconds: float = 0.0
    starting_seconds: float = 0.0
    running_seconds: float = 0.0
    outcome: Outcome = "success"
    failing_step: int | None = None
    status_message: str | None = None
    step_logs: Mapping[int, str] = field(default_factory=dict)
    debug_logs: Mapping[int, str] = field(default_factory=dict)
    run_results: Mapping[int, Any] = field(default_factory=dict)
    artifacts: Mapping[int, Mapping[str, Any]] = field(default_factory=dict)
    nodes: Sequence[str] | None = None
    node_statuses: Mapping[str, str] = field(default_factory=dict)
    cancel_polls: int = 1
    cancel_seconds: float = 0.0

    def __post_init__(self) -> None:
        for name in ("queued_polls", "starting_polls", "running_polls", "cancel_polls"):
            if getattr(self, name) < 0:
                raise ValueError(f"RunScript.{name} must be >= 0")
        for name in ("queued_seconds", "starting_seconds", "running_seconds", "cancel_seconds"):
            if getattr(self, name) < 0:
                raise ValueError(f"RunScript.{name} must be >= 0")
        if self.outcome not in ("success", "error", "cancelled"):
            raise ValueError("RunScript.outcome must be 'success', 'error' or 'cancelled'")
        if self.failing_step is not None and self.failing_step < 1:
            raise ValueError("RunScript.failing_step is 1-based")
        unknown = sorted(set(self.node_statuses.values()) - set(NODE_STATUSES))
        if unknown:
            raise ValueError(f"RunScript.node_statuses: unknown status {unknown[0]!r}; use one of {NODE_STATUSES}")


@dataclass
class Job:
    """A job definition (fields of the Admin API v2 job object)."""

    id: int
    account_id: int
    project_id: int
    environment_id: int
    name: str
    execute_steps: list[str]
    description: str = ""
    dbt_version: str | None = None
    generate_docs: bool = False
    run_generate_sources: bool = False
    timeout_seconds: int = 0
    threads: int = 4
    target_name: str = "default"
    job_type: str = "scheduled"
    state: int = 1
    cron: str = "0 6 * * *"
    schedule_enabled: bool = False
    deferring_job_definition_id: int | None = None
    connection_name: str = "Postgres"
    created_at: datetime | None = None
    updated_at: datetime | None = None
    script: RunScript | None = None

    @property
    def uses_run_slot(self) -> bool:
        """CI jobs neither use run slots nor run serially."""
        return self.job_type != "ci"


@dataclass
class Step:
    """One step of a run; only steps that have started are visible on the wire."""

    id: int
    index: int
    name: str
    command: str | None
    status: int = NOT_STARTED
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    log_lines: list[str] = field(default_factory=list)
    """The console log (``logs`` on the wire), one line per item, growing while the step runs."""
    debug_lines: list[str] = field(default_factory=list)
    """The debug log (``debug_logs``; its last 1,000 lines are ``truncated_debug_logs``)."""
    artifacts: dict[str, bytes] = field(default_factory=dict)
    node_ids: list[str] | None = None
    """The nodes this step runs when they are not its command's share of the script's nodes (a rerun from
    failure runs only what failed, was skipped or never ran)."""
    node_runs: list[NodeRun] = field(default_factory=list)
    progressed_at: datetime | None = None
    """When the step's nodes last moved on (nodes finishing together share out the time since)."""

    @property
    def started(self) -> bool:
        return self.status != NOT_STARTED

    @property
    def logs(self) -> str:
        return "\n".join(self.log_lines)

    @property
    def debug_logs(self) -> str:
        return "\n".join(self.debug_lines)


@dataclass
class Run:
    """A run and its internal progression state."""

    id: int
    account_id: int
    job_id: int
    project_id: int
    environment_id: int
    trigger_id: int
    trigger: dict[str, Any]
    trigger_body: dict[str, Any]
    script: RunScript
    steps: list[Step]
    created_at: datetime
    git_branch: str
    git_sha: str
    dbt_version: str
    timeout_seconds: int
    uses_run_slot: bool
    status: int = QUEUED
    status_message: str | None = None
    updated_at: datetime | None = None
    dequeued_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    last_checked_at: datetime | None = None
    phase_entered_at: datetime | None = None
    phase_polls: int = 0
    blocked_by: list[int] = field(default_factory=list)
    cancel_requested_at: datetime | None = None
    cancel_polls: int = 0
    transient_404s: int = 0
    retrying_run_id: int | None = None
    final_step: int = 0

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL

    @property
    def visible_steps(self) -> list[Step]:
        return [s for s in self.steps if s.started]

    def step_by_index(self, index: int) -> Step | None:
        for step in self.steps:
            if step.index == index:
                return step
        return None
