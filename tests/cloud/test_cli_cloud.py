"""``dbt-kickoff cloud …`` against the emulator: output, JSON, exit codes 0/1/2."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from dbt_kickoff.cli.main import main
from dbt_kickoff_emulator import DbtCloudEmulator, RunScript
from tests.cloud.conftest import ACCOUNT, JOB, TOKEN

FAST = ["--poll-interval", "0.01"]


@pytest.fixture
def live(monkeypatch: pytest.MonkeyPatch) -> Iterator[DbtCloudEmulator]:
    """An emulator on real time (the CLI sleeps for real) with the DBT_CLOUD__* variables pointing at it."""
    with DbtCloudEmulator() as emu:
        emu.add_account(ACCOUNT, "CLI tests")
        emu.add_token(TOKEN, account_ids=[ACCOUNT])
        emu.add_job(ACCOUNT, JOB, "Daily build", execute_steps=["dbt build"])
        monkeypatch.setenv("DBT_CLOUD__API_TOKEN", TOKEN)
        monkeypatch.setenv("DBT_CLOUD__ACCOUNT_ID", str(ACCOUNT))
        monkeypatch.setenv("DBT_CLOUD__BASE_URL", emu.base_url)
        yield emu


def _json(out: str) -> dict:
    return json.loads(out)


def test_run_waits_and_prints_json(live: DbtCloudEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["cloud", "run", str(JOB), "--data", '{"git_branch": "main"}', "--json", *FAST])
    out = capsys.readouterr()
    assert code == 0, out.err
    payload = _json(out.out)
    assert payload["outcome"] == "success" and payload["run"]["status_humanized"] == "Success"
    assert {r["unique_id"] for r in payload["results"]} >= {"model.analytics.orders"}
    assert live.trigger_body(payload["run"]["id"])["git_branch"] == "main"


def test_run_prints_a_results_table(live: DbtCloudEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cloud", "run", str(JOB), *FAST]) == 0
    out = capsys.readouterr().out
    assert "orders" in out and "Success" in out


def test_run_without_waiting(live: DbtCloudEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cloud", "run", str(JOB), "--no-wait", "--json"]) == 0
    payload = _json(capsys.readouterr().out)
    assert payload["outcome"] == "in_progress" and payload["run"]["status"] == 1
    assert "get_run" not in live.route_counts


def test_failed_run_exits_1_with_the_step_log(
    live: DbtCloudEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    live.script_next_run(JOB, RunScript(outcome="error", step_logs={4: "Database Error in model orders"}))
    assert main(["cloud", "run", str(JOB), "--json", *FAST]) == 1
    payload = _json(capsys.readouterr().out)
    assert payload["outcome"] == "failed" and "Database Error in model orders" in payload["error"]


def test_cancelled_run_exits_1(live: DbtCloudEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    live.script_next_run(JOB, RunScript(outcome="cancelled"))
    assert main(["cloud", "run", str(JOB), "--json", *FAST]) == 1
    assert _json(capsys.readouterr().out)["outcome"] == "cancelled"


def test_timeout_exits_1_and_can_cancel(live: DbtCloudEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    live.script_next_run(JOB, RunScript(running_polls=100_000))
    args = ["cloud", "run", str(JOB), "--json", "--timeout", "0.2", "--cancel-on-timeout", *FAST]
    assert main(args) == 1
    payload = _json(capsys.readouterr().out)
    assert payload["outcome"] == "timed_out"
    assert live.peek_run(payload["run"]["id"])["status"] == 30


def test_status_and_cancel(live: DbtCloudEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    live.script_next_run(JOB, RunScript(queued_polls=100))
    assert main(["cloud", "run", str(JOB), "--no-wait", "--json"]) == 0
    run_id = str(_json(capsys.readouterr().out)["run"]["id"])
    assert main(["cloud", "status", run_id, "--json"]) == 0
    assert _json(capsys.readouterr().out)["run"]["status_humanized"] == "Queued"
    assert main(["cloud", "cancel", run_id]) == 0
    assert "Cancelled" in capsys.readouterr().out
    assert main(["cloud", "status", run_id, "--wait", *FAST]) == 1


def test_status_wait_for_success(live: DbtCloudEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cloud", "run", str(JOB), "--no-wait", "--json"]) == 0
    run_id = str(_json(capsys.readouterr().out)["run"]["id"])
    assert main(["cloud", "status", run_id, "--wait", "--json", *FAST]) == 0
    assert _json(capsys.readouterr().out)["outcome"] == "success"


@pytest.mark.parametrize(
    "args",
    [
        ["cloud", "run", str(JOB), "--data", "not json"],
        ["cloud", "run", str(JOB), "--data", "[1, 2]"],
        ["cloud", "run", str(JOB), "--data", '{"schema_overide": "x"}'],
        ["cloud", "run", "abc"],
        ["cloud", "status", "0"],
    ],
)
def test_bad_usage_exits_2(
    live: DbtCloudEmulator, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    assert main(args) == 2
    assert "error:" in capsys.readouterr().err
    assert "trigger" not in live.route_counts


def test_missing_token_and_bad_token_exit_2(
    live: DbtCloudEmulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DBT_CLOUD__API_TOKEN")
    assert main(["cloud", "run", str(JOB)]) == 2
    assert "DBT_CLOUD__API_TOKEN" in capsys.readouterr().err
    monkeypatch.setenv("DBT_CLOUD__API_TOKEN", "dbtc_not-a-valid-token")
    assert main(["cloud", "status", "1"]) == 2
    err = capsys.readouterr().err
    assert "401" in err and live.base_url.split("://")[1] in err and "dbtc_not-a-valid-token" not in err


def test_account_and_host_flags_override_the_environment(
    live: DbtCloudEmulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DBT_CLOUD__ACCOUNT_ID", "999")
    monkeypatch.setenv("DBT_CLOUD__BASE_URL", "https://cloud.getdbt.com")
    args = ["cloud", "run", str(JOB), "--no-wait", "--account-id", str(ACCOUNT), "--base-url", live.base_url]
    assert main(args) == 0
    assert live.route_counts["trigger"] == 1


def test_the_token_is_not_an_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cloud", "run", str(JOB), "--api-token", TOKEN]) == 2  # a usage error, in one line


def test_emulator_command_serves_and_its_printed_token_works(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The banner shows the emulator's own token in clear (not masked as ***), and the CLI can use it."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "dbt_kickoff.cli.main", "cloud", "emulator", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(4)]
        assert "http://127.0.0.1:" in lines[0]
        base_url = lines[0].split()[-1]
        token = next(line.split()[2] for line in lines if "api token:" in line)
        assert token.startswith("dbtc_emulator_") and "***" not in token
        monkeypatch.setenv("DBT_CLOUD__API_TOKEN", token)
        monkeypatch.setenv("DBT_CLOUD__ACCOUNT_ID", "1")
        monkeypatch.setenv("DBT_CLOUD__BASE_URL", base_url)
        assert main(["cloud", "run", "1001", "--no-wait", "--json"]) == 0, capsys.readouterr().err
        assert _json(capsys.readouterr().out)["run"]["job_definition_id"] == 1001
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_output_never_shows_the_token(live: DbtCloudEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    live.script_next_run(JOB, RunScript(outcome="error", step_logs={4: f"echoing {TOKEN} by mistake"}))
    assert main(["cloud", "run", str(JOB), "--json", *FAST]) == 1
    out = capsys.readouterr()
    assert "echoing *** by mistake" in out.out
    assert TOKEN not in out.out + out.err
