"""A dbt Cloud call checks each option once, at its public entry point; the layers under it (the runner's
methods, the client) trust the checked values. Counted by wrapping the one method every spec checks with."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import pytest

from dbt_kickoff.cloud import AsyncDbtCloud, DbtCloud, get_dbt_cloud_run_status, run_dbt_cloud_job
from dbt_kickoff.validation import Spec
from dbt_kickoff_emulator import FakeClock
from tests.cloud.conftest import JOB

RUN_JOB_OPTIONS = {
    "data": {"git_branch": "main"},
    "poll_interval": 5,
    "timeout": 3600,
    "cancel_on_timeout": True,
    "raise_on_failure": True,
    "idempotency_key": "nightly-2026-01-05",
    "attach_to_running": False,
    "rerun_from_failure": False,
    "on_poll": print,
    "cancel_on_stop": True,
    "on_event": print,
    "fail_fast": True,
    "records": False,
}


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How many times each option was checked, by option name (the label is ``"where(): name"``)."""
    counted: Counter[str] = Counter()
    check = Spec.check

    def counting(self: Spec, option: str, value: Any) -> Any:
        counted[option.rsplit(": ", 1)[-1]] += 1
        return check(self, option, value)

    monkeypatch.setattr(Spec, "check", counting)
    return counted


def test_run_dbt_cloud_job_checks_each_option_once(
    creds: dict[str, Any], fake_clock: FakeClock, state_dir: Path, checks: Counter[str]
) -> None:
    options = {"data": {"git_branch": "main"}, "wait_for_outcome": True, "wait_seconds": 5, "timeout": 3600,
               "cancel_on_timeout": True, "raise_on_failure": True, "idempotency_key": "nightly-2026-01-05",
               "attach_to_running": False, "rerun_from_failure": False, "on_poll": print, "http_timeout": 5,
               "state_dir": state_dir, "cancel_on_stop": True, "on_event": print, "fail_fast": True,
               "records": state_dir / "records"}
    run = run_dbt_cloud_job(creds, JOB, clock=fake_clock, **options)
    assert run["status_humanized"] == "Success"  # the whole call ran: trigger, client, polls
    assert checks == Counter({"job_id": 1, **dict.fromkeys(options, 1)})


def test_get_dbt_cloud_run_status_checks_each_option_once(
    creds: dict[str, Any], fake_clock: FakeClock, checks: Counter[str]
) -> None:
    with DbtCloud(creds, clock=fake_clock) as cloud:
        run_id = cloud.trigger(JOB)["id"]
    checks.clear()
    options = {"wait_for_outcome": True, "wait_seconds": 5, "timeout": 3600, "on_poll": print, "http_timeout": 5}
    run = get_dbt_cloud_run_status(creds, run_id, clock=fake_clock, **options)
    assert run["status_humanized"] == "Success"
    assert checks == Counter({"run_id": 1, **dict.fromkeys(options, 1)})


def test_dbt_cloud_run_job_checks_each_option_once(
    creds: dict[str, Any], fake_clock: FakeClock, state_dir: Path, checks: Counter[str]
) -> None:
    with DbtCloud(creds, http_timeout=5, clock=fake_clock, state_dir=state_dir) as cloud:
        assert checks == Counter({"http_timeout": 1, "state_dir": 1})  # the constructor's own
        checks.clear()
        run = cloud.run_job(JOB, wait=True, **RUN_JOB_OPTIONS)
    assert run["status_humanized"] == "Success"
    assert checks == Counter({"job_id": 1, "wait": 1, **dict.fromkeys(RUN_JOB_OPTIONS, 1)})


def test_async_dbt_cloud_checks_each_option_once(
    creds: dict[str, Any], fake_clock: FakeClock, state_dir: Path, checks: Counter[str]
) -> None:
    seen: dict[str, Counter[str]] = {}

    async def scenario() -> dict[str, Any]:
        async with AsyncDbtCloud(creds, http_timeout=5, clock=fake_clock, state_dir=state_dir) as cloud:
            seen["constructor"] = Counter(checks)
            checks.clear()
            return await cloud.run_job(JOB, wait=True, **RUN_JOB_OPTIONS)

    run = anyio.run(scenario)
    assert run["status_humanized"] == "Success"
    assert seen["constructor"] == Counter({"http_timeout": 1, "state_dir": 1})
    assert checks == Counter({"job_id": 1, "wait": 1, **dict.fromkeys(RUN_JOB_OPTIONS, 1)})


def test_a_client_made_alone_checks_its_timeout(checks: Counter[str], creds: dict[str, Any]) -> None:
    """The client is a public entry point too: made by hand, it checks its own option (once)."""
    from dbt_kickoff.cloud import DbtCloudClient, resolve_credentials

    with DbtCloudClient(resolve_credentials(creds), timeout=5):
        pass
    assert checks == Counter({"timeout": 1})


@pytest.mark.parametrize(("option", "value", "said"), [
    ("on_event", "print", "on_event must be a callable"),
    ("fail_fast", "yes", "fail_fast must be True or False"),
    ("records", 3, "records must be a folder or fsspec URL"),
    ("records", "", "records must be a folder or fsspec URL"),
])
def test_the_new_wait_options_are_refused_before_any_request(
    creds: dict[str, Any], fake_clock: FakeClock, emulator: Any, option: str, value: Any, said: str
) -> None:
    from dbt_kickoff.errors import ConfigurationError

    with DbtCloud(creds, clock=fake_clock) as cloud, pytest.raises(ConfigurationError, match=said):
        cloud.run_job(JOB, **{option: value})
    with pytest.raises(ConfigurationError, match=said):
        run_dbt_cloud_job(creds, JOB, clock=fake_clock, **{option: value})
    assert emulator.requests == []
