"""dbt Cloud runs: trigger (safely), wait, status, cancel, rerun from failure, attach and reattach."""

from __future__ import annotations

import difflib
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from dbt_kickoff.cloud.artifacts import download_artifacts, fetch_node_results
from dbt_kickoff.cloud.client import DbtCloudClient, RequestOutcomeUnknown, RetryPolicy
from dbt_kickoff.cloud.credentials import DbtCloudCredentials, resolve_credentials
from dbt_kickoff.cloud.errors import (
    DbtCloudAPIError,
    DbtCloudNotFoundError,
    DbtCloudRunCancelled,
    DbtCloudRunFailed,
    DbtCloudTriggerUncertain,
    DbtCloudUnavailableError,
    DbtCloudWaitTimeout,
)
from dbt_kickoff.cloud.ledger import RunLedger, idempotency_marker
from dbt_kickoff.cloud.status import IN_PROGRESS, RunStatus
from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.results import NodeResult

logger = logging.getLogger(__name__)

MAX_CAUSE_LENGTH = 255
DEFAULT_CAUSE = "Triggered by dbt-kickoff"
DEFAULT_POLL_INTERVAL = 10.0
LOG_TAIL_LINES = 25
RECONCILE_WINDOW = 50
CANCEL_SETTLE_POLLS = 12
MAX_FAILED_POLLS = 5  # consecutive polls that may fail (each after its own retries) before a wait gives up

_STR, _INT, _BOOL, _LIST = "a non-empty string", "an integer", "true or false", "a list of non-empty strings"
TRIGGER_FIELDS: dict[str, str] = {
    "cause": _STR,
    "git_sha": _STR,
    "git_branch": _STR,
    "azure_pull_request_id": _INT,
    "github_pull_request_id": _INT,
    "gitlab_merge_request_id": _INT,
    "non_native_pull_request_id": _INT,
    "schema_override": _STR,
    "dbt_version_override": _STR,
    "threads_override": _INT,
    "target_name_override": _STR,
    "generate_docs_override": _BOOL,
    "timeout_seconds_override": _INT,
    "steps_override": _LIST,
}


def _check_field(name: str, value: Any) -> Any:
    kind = TRIGGER_FIELDS[name]
    ok = True
    if kind == _STR:
        ok = isinstance(value, str) and bool(value.strip())
    elif kind == _INT:
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == _BOOL:
        ok = isinstance(value, bool)
    elif kind == _LIST:
        ok = isinstance(value, (list, tuple)) and all(isinstance(s, str) and s.strip() for s in value)
        value = list(value) if ok else value
    if not ok:
        raise ConfigurationError(f"dbt Cloud trigger field {name!r} must be {kind}, got {value!r}")
    return value


def with_marker(cause: str, marker: str) -> str:
    """``cause`` with ``[marker]`` appended, cut so the whole stays within dbt Cloud's 255 characters."""
    suffix = f" [{marker}]"
    text = " ".join(cause.split())
    room = MAX_CAUSE_LENGTH - len(suffix)
    if len(text) > room:
        text = text[: room - 1].rstrip() + "…"
    return text + suffix


def build_trigger_body(
    data: Mapping[str, Any] | None, marker: str, defaults: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Validate the optional trigger fields (dbt Cloud §4.1) and add a ``cause`` carrying ``marker``.

    ``None`` values and an empty ``steps_override`` are left out; unknown keys are rejected with a hint,
    since dbt Cloud would silently ignore a misspelt override.
    """
    merged = {**(defaults or {}), **(data or {})}
    body: dict[str, Any] = {}
    for name, value in merged.items():
        if name not in TRIGGER_FIELDS:
            close = difflib.get_close_matches(str(name), TRIGGER_FIELDS, n=1)
            hint = (
                f"; did you mean {close[0]!r}?" if close else f"; known fields: {', '.join(TRIGGER_FIELDS)}"
            )
            raise ConfigurationError(f"unknown dbt Cloud trigger field {name!r}{hint}")
        if value is None or (name == "steps_override" and value in ([], ())):
            continue
        body[name] = _check_field(name, value)
    if "git_sha" in body and "git_branch" in body:
        logger.warning(
            "both git_sha and git_branch given: dbt Cloud checks out git_sha; git_branch is not sent"
        )
        del body["git_branch"]
    body["cause"] = with_marker(body.get("cause") or DEFAULT_CAUSE, marker)
    return body


def describe_run_failure(run: Mapping[str, Any], tail_lines: int = LOG_TAIL_LINES) -> str:
    """A message naming the run, its failing step and the tail of that step's logs."""
    status = RunStatus.of(run)
    steps = sorted(run.get("run_steps") or [], key=lambda s: int(s.get("index") or 0))
    failing = next((s for s in steps if s.get("status") == RunStatus.ERROR), None)
    if failing is None:
        failing = next((s for s in reversed(steps) if s.get("status") == RunStatus.CANCELLED), None)
    if failing is None and steps:
        failing = steps[-1]
    verb = "failed" if status == RunStatus.ERROR else "was cancelled"
    head = f"dbt Cloud run {run.get('id')} of job {run.get('job_definition_id') or run.get('job_id')} {verb}"
    if failing is not None:
        head += f" at step {failing.get('index')} ({failing.get('name')})"
    if run.get("status_message"):
        head += f": {run['status_message']}"
    lines = [head]
    if run.get("href"):
        lines.append(f"Run page: {run['href']}")
    if failing is not None:
        logs = str(failing.get("logs") or failing.get("truncated_debug_logs") or "")
        tail = [line.rstrip() for line in logs.splitlines() if line.strip()][-tail_lines:]
        if tail:
            lines.append(f"Last {len(tail)} log lines of step {failing.get('index')}:")
            lines.extend(f"  {line}" for line in tail)
    return "\n".join(lines)


class DbtCloud:
    """The typed dbt Cloud runner for one account.

    >>> cloud = DbtCloud({"api_token": "...", "account_id": 1, "base_url": "ab123.us1.dbt.com"})
    >>> run = cloud.trigger(42, {"git_branch": "main"}, idempotency_key="load-2026-11-24")
    >>> run = cloud.wait(run, timeout=3600, cancel_on_timeout=True)
    >>> for node in cloud.node_results(run): print(node.model_name, node.status)

    ``clock`` may be any :class:`~dbt_kickoff.cloud.clock.Clock` or the emulator's ``FakeClock``;
    ``state_dir`` is where idempotency keys are remembered (default: the platform's user state folder).
    """

    def __init__(
        self,
        credentials: Any = None,
        *,
        http_timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        clock: Any = None,
        state_dir: Path | str | None = None,
        client: DbtCloudClient | None = None,
    ) -> None:
        self.credentials: DbtCloudCredentials = resolve_credentials(credentials)
        self.client = client or DbtCloudClient(
            self.credentials, timeout=http_timeout, retry=retry, clock=clock
        )
        self.clock = self.client.clock
        self._state_dir = state_dir
        self._ledger: RunLedger | None = None

    def __repr__(self) -> str:
        return f"DbtCloud(access_url={self.client.access_url!r}, account_id={self.client.account_id})"

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> DbtCloud:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def ledger(self) -> RunLedger:
        if self._ledger is None:
            self._ledger = RunLedger(self._state_dir)
        return self._ledger

    def job_id(self, job_id: int | str | None) -> int:
        """``job_id`` or the credentials' job id, as an int."""
        value = job_id if job_id not in (None, "") else self.credentials.job_id
        if value is None:
            raise ConfigurationError("no dbt Cloud job id: pass job_id or set DBT_CLOUD__JOB_ID")
        try:
            return int(str(value).strip())
        except ValueError:
            raise ConfigurationError(f"dbt Cloud job id must be an integer, got {value!r}") from None

    # -- runs ------------------------------------------------------------------------------------------------

    def get_run(self, run_id: int | str, include_related: Sequence[str] = ()) -> dict[str, Any]:
        """The run as dbt Cloud describes it."""
        return self.client.get_run(_run_id(run_id), include_related)

    def cancel(self, run_id: int | str) -> dict[str, Any]:
        """Ask dbt Cloud to cancel a run and return it (a running run takes a while to reach status 30)."""
        return self.client.cancel_run(_run_id(run_id))

    def trigger(
        self,
        job_id: int | str | None = None,
        data: Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
        attach_to_running: bool = False,
        rerun_from_failure: bool = False,
    ) -> dict[str, Any]:
        """Start a run of a job (or reuse one) and return it as dbt Cloud describes it.

        ``data`` holds the optional trigger fields (``git_sha``, ``schema_override``, ``steps_override``…;
        ``cause`` defaults to a useful text). A unique marker in the cause lets a trigger whose answer was
        lost be found instead of re-sent. ``idempotency_key``: a run already started with this key
        (remembered in a local file, or found by its marker) is returned instead of starting another.
        ``attach_to_running``: return the job's newest queued/running run if there is one.
        ``rerun_from_failure``: when the job's newest run failed, rerun it from the point of failure (trigger
        overrides are then ignored).
        """
        job = self.job_id(job_id)
        if idempotency_key is not None and not str(idempotency_key).strip():
            raise ConfigurationError("idempotency_key must be a non-empty string")
        marker = (
            idempotency_marker(self.client.host, self.client.account_id, job, str(idempotency_key))
            if idempotency_key is not None
            else f"dbt-kickoff:{uuid.uuid4().hex[:16]}"
        )
        body = build_trigger_body(data, marker, self.credentials.trigger_defaults)
        if idempotency_key is None:
            return self._start(job, body, marker, data, attach_to_running, rerun_from_failure)
        with self.ledger.claim(marker):
            run = self._reattach(job, marker)
            if run is None:
                run = self._start(job, body, marker, data, attach_to_running, rerun_from_failure)
                self.ledger.record(marker, int(run["id"]), job)
            return run

    def _start(
        self,
        job: int,
        body: Mapping[str, Any],
        marker: str,
        data: Mapping[str, Any] | None,
        attach_to_running: bool,
        rerun_from_failure: bool,
    ) -> dict[str, Any]:
        """Attach, rerun or trigger, as asked."""
        run: dict[str, Any] | None = None
        if attach_to_running:
            active = self.client.list_runs(job, order_by="-id", status_in=IN_PROGRESS, limit=1)
            if active:
                run = active[0]
                logger.info(
                    "attaching to dbt Cloud run %s of job %s, already %s", run["id"], job, _human(run)
                )
        if run is None and rerun_from_failure:
            run = self._rerun_if_failed(job, data)
        if run is None:
            run = self._post_trigger(job, body, marker)
            logger.info("triggered dbt Cloud run %s of job %s (%s)", run["id"], job, marker)
        return run

    def wait(
        self,
        run: Mapping[str, Any] | int | str,
        *,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        timeout: float | None = None,
        cancel_on_timeout: bool = False,
        raise_on_failure: bool = True,
        on_poll: Callable[[dict[str, Any]], None] | None = None,
        just_triggered: bool = False,
    ) -> dict[str, Any]:
        """Poll a run every ``poll_interval`` seconds until it finishes; return it.

        A run that ends in error raises :class:`DbtCloudRunFailed`, a cancelled one (including one cancelled
        by dbt Cloud's own job timeout) :class:`DbtCloudRunCancelled` — unless ``raise_on_failure=False``.
        Past ``timeout`` seconds :class:`DbtCloudWaitTimeout` is raised, after cancelling the run when
        ``cancel_on_timeout``. ``just_triggered`` tolerates the brief 404 of a run dbt Cloud has just created.
        """
        if poll_interval is None or poll_interval <= 0:
            raise ConfigurationError("poll interval (wait_seconds) must be a positive number of seconds")
        if timeout is not None and timeout < 0:
            raise ConfigurationError(
                "timeout must be a number of seconds >= 0, or None to wait without limit"
            )
        run_id = _run_id(run["id"] if isinstance(run, Mapping) else run)
        current: dict[str, Any] | None = dict(run) if isinstance(run, Mapping) else None
        clock = self.clock
        start = clock.monotonic()
        deadline = None if timeout is None else start + timeout
        next_poll = start + poll_interval if current is not None else start
        not_found_retries = self.client.retry.not_found_retries if just_triggered else 0
        failed_polls = 0
        while current is None or not RunStatus.of(current).is_terminal:
            now = clock.monotonic()
            if current is not None and deadline is not None and now >= deadline:
                return self._on_timeout(current, timeout, cancel_on_timeout, poll_interval, raise_on_failure)
            wake = next_poll if deadline is None else min(next_poll, deadline)
            if wake > now:
                clock.sleep(wake - now)
            try:
                polled_run = self.client.get_run(run_id, not_found_retries=not_found_retries)
            except DbtCloudUnavailableError as exc:
                failed_polls += 1  # an outage outlasting the retries; the run goes on meanwhile
                if current is None or failed_polls >= MAX_FAILED_POLLS:
                    raise
                logger.warning(
                    "still waiting for dbt Cloud run %s: %s (%d poll(s) failed)", run_id, exc, failed_polls
                )
            else:
                current, failed_polls, not_found_retries = polled_run, 0, 0
                if on_poll is not None:
                    on_poll(current)
            polled = clock.monotonic()
            next_poll = wake + poll_interval if wake + poll_interval > polled else polled + poll_interval
        return self._finish(current, raise_on_failure)

    def run_job(
        self,
        job_id: int | str | None = None,
        data: Mapping[str, Any] | None = None,
        *,
        wait: bool = True,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        timeout: float | None = None,
        cancel_on_timeout: bool = False,
        raise_on_failure: bool = True,
        idempotency_key: str | None = None,
        attach_to_running: bool = False,
        rerun_from_failure: bool = False,
        on_poll: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """:meth:`trigger` then, with ``wait``, :meth:`wait`."""
        run = self.trigger(
            job_id,
            data,
            idempotency_key=idempotency_key,
            attach_to_running=attach_to_running,
            rerun_from_failure=rerun_from_failure,
        )
        if not wait:
            return run
        return self.wait(
            run,
            poll_interval=poll_interval,
            timeout=timeout,
            cancel_on_timeout=cancel_on_timeout,
            raise_on_failure=raise_on_failure,
            on_poll=on_poll,
            just_triggered=True,
        )

    # -- results ---------------------------------------------------------------------------------------------

    def node_results(self, run: Mapping[str, Any] | int | str) -> list[NodeResult]:
        """One :class:`NodeResult` per node the run's dbt commands executed, read from their
        ``run_results.json`` (build/run/test/seed/snapshot steps; never the docs step)."""
        return fetch_node_results(self.client, run if isinstance(run, Mapping) else {"id": _run_id(run)})

    def download_artifacts(
        self,
        run: Mapping[str, Any] | int | str,
        destination: Path | str,
        *,
        step: int | None = None,
        paths: Sequence[str] | None = None,
        include_compiled: bool = False,
    ) -> list[Path]:
        """Download a run's artifacts into ``destination`` (see :func:`.artifacts.download_artifacts`)."""
        run_id = _run_id(run["id"] if isinstance(run, Mapping) else run)
        return download_artifacts(
            self.client, run_id, destination, step=step, paths=paths, include_compiled=include_compiled
        )

    # -- internals -------------------------------------------------------------------------------------------

    def _reattach(self, job: int, marker: str) -> dict[str, Any] | None:
        run_id = self.ledger.lookup(marker)
        if run_id is not None:
            try:
                run = self.client.get_run(run_id)
            except DbtCloudNotFoundError:
                logger.warning("run %s remembered for this idempotency key no longer exists", run_id)
            else:
                logger.info("reattaching to dbt Cloud run %s (same idempotency key), %s", run_id, _human(run))
                return run
        found = self._find_marked_run(job, marker)
        if found is not None:
            logger.info(
                "found dbt Cloud run %s started with this idempotency key, %s", found["id"], _human(found)
            )
            self.ledger.record(marker, int(found["id"]), job)
        return found

    def _find_marked_run(self, job: int, marker: str) -> dict[str, Any] | None:
        runs = self.client.list_runs(
            job, order_by="-id", include_related=("trigger",), limit=RECONCILE_WINDOW
        )
        for run in runs:
            trigger = run.get("trigger")
            if trigger is None:  # the server left the trigger out: read it run by run
                trigger = self.client.get_run(int(run["id"]), ("trigger",)).get("trigger") or {}
            if marker in str(trigger.get("cause") or ""):
                return run
        return None

    def _post_trigger(self, job: int, body: Mapping[str, Any], marker: str) -> dict[str, Any]:
        policy = self.client.retry
        attempt = 0
        while True:
            attempt += 1
            try:
                return self.client.trigger_run(job, body)
            except RequestOutcomeUnknown as exc:
                problem, answered, timed_out = str(exc), exc.server_answered, exc.timed_out
            logger.warning(
                "%s; looking for a run of job %s carrying %s before deciding", problem, job, marker
            )
            found = self._reconcile(job, marker, answered, problem)
            if found is not None:
                logger.info("the trigger did reach dbt Cloud: adopting run %s", found["id"])
                return found
            if timed_out:  # dbt Cloud may still be working on it: re-sending could start a second run
                raise DbtCloudTriggerUncertain(
                    f"triggering dbt Cloud job {job} timed out ({problem}) and no run carrying {marker} has "
                    "appeared yet. A run may exist: check the job's runs for that marker before retrying, or "
                    "retry with an idempotency_key, which finds the run if it does exist.",
                    job_id=job,
                    marker=marker,
                )
            if attempt >= policy.max_attempts:
                raise DbtCloudTriggerUncertain(
                    f"could not trigger dbt Cloud job {job} after {attempt} attempts ({problem}). No run "
                    f"carrying {marker} was found, but one may still appear: check the job's runs before "
                    "retrying.",
                    job_id=job,
                    marker=marker,
                )
            self.clock.sleep(policy.backoff(attempt))

    def _reconcile(self, job: int, marker: str, server_answered: bool, problem: str) -> dict[str, Any] | None:
        """Look for our run after an ambiguous trigger failure; ``None`` when it surely does not exist."""
        # A server that answered has finished with the request; one that did not may still be creating it.
        checks = 1 if server_answered else 2
        for check in range(checks):
            if check:
                self.clock.sleep(max(2.0, self.client.retry.backoff(2)))
            try:
                found = self._find_marked_run(job, marker)
            except DbtCloudAPIError as exc:
                raise DbtCloudTriggerUncertain(
                    f"triggering dbt Cloud job {job} failed ({problem}) and its runs could not be listed "
                    f"({exc}). A run may exist: look for {marker} in the cause of the job's newest runs "
                    "before retrying.",
                    job_id=job,
                    marker=marker,
                ) from None
            if found is not None:
                return found
        return None

    def _rerun_if_failed(self, job: int, data: Mapping[str, Any] | None) -> dict[str, Any] | None:
        newest = self.client.list_runs(job, order_by="-id", limit=1)
        if not newest or RunStatus.of(newest[0]) != RunStatus.ERROR:
            state = _human(newest[0]) if newest else "none"
            logger.info(
                "job %s's newest run did not fail (%s): triggering a new run instead of a rerun", job, state
            )
            return None
        ignored = sorted(k for k, v in (data or {}).items() if k != "cause" and v is not None)
        if ignored:
            logger.warning(
                "rerunning job %s from its failed run %s: trigger overrides are ignored by dbt Cloud (%s)",
                job,
                newest[0]["id"],
                ", ".join(ignored),
            )
        failed_id = int(newest[0]["id"])
        try:
            run = self.client.rerun_job(job)
        except RequestOutcomeUnknown as exc:
            problem = str(exc)
        else:
            logger.info("rerunning failed run %s of job %s as run %s", failed_id, job, run["id"])
            return run
        try:
            newer = self.client.list_runs(
                job, order_by="id", id_gt=failed_id, include_related=("trigger",), limit=10
            )
        except DbtCloudAPIError:
            newer = None
        if newer:
            reruns = [r for r in newer if (r.get("trigger") or {}).get("cause_category") == "rerun"]
            return (reruns or newer)[0]
        raise DbtCloudTriggerUncertain(
            f"the rerun of dbt Cloud job {job} failed ({problem}) and no newer run than {failed_id} could be "
            "confirmed. A run may exist: check the job's runs before retrying.",
            job_id=job,
            marker="",
        )

    def _finish(self, run: dict[str, Any], raise_on_failure: bool) -> dict[str, Any]:
        status = RunStatus.of(run)
        if status == RunStatus.SUCCESS:
            return run
        try:
            detailed = {**run, **self.client.get_run(int(run["id"]), ("run_steps",))}
        except DbtCloudAPIError as exc:  # the outcome is known; only the step details are missing
            logger.warning("could not read the steps of dbt Cloud run %s: %s", run["id"], exc)
            detailed = dict(run)
        if not raise_on_failure:
            return detailed
        message = self.client.scrub(describe_run_failure(detailed))
        if status == RunStatus.CANCELLED:
            raise DbtCloudRunCancelled(message, detailed)
        raise DbtCloudRunFailed(message, detailed)

    def _on_timeout(
        self,
        run: dict[str, Any],
        timeout: float | None,
        cancel: bool,
        poll_interval: float,
        raise_on_failure: bool,
    ) -> dict[str, Any]:
        run_id = int(run["id"])
        if cancel:
            logger.warning("dbt Cloud run %s still %s after %ss: cancelling it", run_id, _human(run), timeout)
            run = self.client.cancel_run(run_id)
            settle = min(poll_interval, 5.0)
            for _ in range(CANCEL_SETTLE_POLLS):
                if RunStatus.of(run).is_terminal:
                    break
                self.clock.sleep(settle)
                run = self.client.get_run(run_id)
            if RunStatus.of(run) in (RunStatus.SUCCESS, RunStatus.ERROR):
                return self._finish(run, raise_on_failure)  # it finished before the cancel took effect
        what = (
            "it was cancelled"
            if cancel and RunStatus.of(run) == RunStatus.CANCELLED
            else ("cancel was requested" if cancel else "it is still running")
        )
        where = f" ({run['href']})" if run.get("href") else ""
        raise DbtCloudWaitTimeout(
            f"dbt Cloud run {run_id}{where} did not finish within {timeout:g}s (last status "
            f"{_human(run)}); {what}",
            run,
            cancelled=cancel,
        )


def _human(run: Mapping[str, Any]) -> str:
    try:
        return str(run.get("status_humanized") or RunStatus.of(run).humanized)
    except (KeyError, ValueError):
        return "unknown"


def _run_id(value: Any) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ConfigurationError(f"dbt Cloud run id must be an integer, got {value!r}") from None
    if number <= 0:
        raise ConfigurationError(f"dbt Cloud run id must be positive, got {number}")
    return number
