"""A dbt Cloud Administrative API (v2) emulator: a real HTTP server on 127.0.0.1 for tests and demos.

It follows DBT_CLOUD_API.md §7: envelopes, tokens, jobs, trigger/rerun/retry/cancel, runs and their steps,
per-step artifacts, serial runs per job, run slots, timeouts, and fault injection. Routes: the v2 account,
job, trigger, rerun, run, cancel, retry, step and artifact endpoints, plus the v3 project/environment lists
(``name__icontains``) used to find a job by names. A package of its own: it imports nothing from dbt-kickoff
(``pip install 'dbt-kickoff[emulator]'`` brings it; ``dbt_kickoff.cloud.emulator`` re-exports it).

Usage::

    from dbt_kickoff_emulator import DbtCloudEmulator, FakeClock, RunScript

    clock = FakeClock()                       # or omit: real time; a client given the same clock
                                              # (time/monotonic/sleep/asleep) waits without real time
    with DbtCloudEmulator(clock=clock) as emu:
        emu.add_account(1, "Acme", run_slots=2)
        emu.add_token("secret-token", account_ids=[1])          # kind="service"|"pat", can_read, can_trigger,
                                                                # ip_denied (-> 403)
        emu.add_job(1, job_id=42, execute_steps=["dbt build"], generate_docs=True, timeout_seconds=0)
        emu.script_next_run(42, RunScript(queued_polls=2, starting_polls=1, running_polls=3,
                                          outcome="error", failing_step=4))
        base = emu.base_url       # http://127.0.0.1:PORT ; the API is under /api/v2/accounts/1/...
        ...                       # point a client at `base` with `Authorization: Token secret-token`
        emu.requests              # [RecordedRequest(method, path, query, headers (masked), body, ...)]
        emu.route_counts          # {"trigger": 1, "get_run": 7, ...}
        emu.peek_run(run_id)      # the run as the API shows it, without counting a poll
        emu.internal_errors       # exceptions inside the emulator (answered as 500s); [] unless it has a bug

Other set-up: ``add_project``/``add_environment`` (names for the v3 lookups; ``add_job`` creates missing
ones), ``delete_job`` (state 2, in-flight runs cancelled), ``revoke_token``, ``run_ids``, ``trigger_body``.

Progression (:class:`RunScript`): a run leaves a state once it has been polled (``GET …/runs/{id}/``) the
scripted number of times *and* the scripted seconds have passed on the emulator's clock. The default script
is one poll per state and success. Steps: 1 "Clone git repository", 2 "Create profile from connection …",
3 "Invoke dbt with `dbt deps`", then "Invoke dbt with `<command>`" per command (+ docs step); only steps that
have started are listed. A running step's logs grow node by node in dbt's line shapes (``truncated_debug_logs``:
the last 1,000 lines of its debug log); ``RunScript(nodes=..., node_statuses=...)`` scripts the nodes and their
outcomes; rerun from failure runs only what failed, was skipped or never ran (see the README for the choices
made where dbt Cloud's documentation is silent). ``emu.script_next_run(job_id, script)`` queues a script for the
job's next run; ``add_job(..., script=)`` and ``emu.default_script`` set standing scripts.

Faults (``emu.faults``, :class:`Faults`):
``fail(status, response="envelope"|"detail"|"html"|"empty"|"reset", times=, route=, method=, run_id=, after=,
retry_after=, retry_after_format="seconds"|"http-date")``, ``html_error``, ``empty_success``,
``reset_connection``, ``slow(seconds)``, ``lose_trigger_response("500"|"html"|"reset")`` (the run is
created, the answer lost), ``rate_limit(per_minute, cooldown_seconds=300, retry_after=...)``,
``revoke_token_after(token, polls)``; switches ``host_mismatch``, ``legacy_redirects`` (301 instead of 308),
``limit_over_max`` ("error" | "clamp"), ``new_run_404s`` (first K GETs of each new run -> 404),
``max_cause_length``, ``artifact_redirect_host`` (artifact downloads redirect to another origin that needs
no token). Route names for ``route=``: see :data:`ROUTES`.

Command line: ``serve(port)`` runs a demo server until Ctrl-C. Pytest: ``pytest_plugins =
["dbt_kickoff_emulator.pytest_plugin"]`` gives the ``dbt_cloud_emulator`` fixture.
"""

from dbt_kickoff_emulator.app import DbtCloudEmulator
from dbt_kickoff_emulator.clock import Clock, FakeClock, RealClock
from dbt_kickoff_emulator.faults import ROUTES, FaultRule, Faults, RateLimit
from dbt_kickoff_emulator.models import RunScript
from dbt_kickoff_emulator.recording import RecordedRequest
from dbt_kickoff_emulator.serve import serve

__all__ = [
    "ROUTES",
    "Clock",
    "DbtCloudEmulator",
    "FakeClock",
    "FaultRule",
    "Faults",
    "RateLimit",
    "RealClock",
    "RecordedRequest",
    "RunScript",
    "serve",
]
