"""Bad flags: exit 2 with one line on stderr naming the flag, no traceback, and nothing started."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dbt_kickoff.cli.main import main
from dbt_kickoff.cloud.emulator import DbtCloudEmulator
from tests.hardening.conftest import ACCOUNT, JOB, TOKEN, Guard

PKG = "package"  # the guard's dbt package, relative to its sandbox (the working directory)
JOB_ID = str(JOB)

CASES: list[tuple[list[str], str]] = [
    (["run", PKG, "--threads", "0"], "--threads"),
    (["run", PKG, "--threads", "abc"], "--threads"),
    (["run", PKG, "--threads", "2.5"], "--threads"),
    (["run", PKG, "--timeout", "-1"], "--timeout"),
    (["run", PKG, "--timeout", "nan"], "--timeout"),
    (["run", PKG, "--timeout", "inf"], "--timeout"),
    (["run", PKG, "--dataset-name", ""], "--dataset-name"),
    (["run", PKG, "--destination", ""], "--destination"),
    (["run", PKG, "--select", "", "--command", "build"], "--select"),
    (["run", PKG, "--vars", "[1]"], "--vars"),
    (["run", PKG, "--vars", "not json"], "--vars"),
    (["run", PKG, "--command", "nope"], "--command"),
    (["run", PKG, "--select", "x"], "--select"),
    (["run", PKG, "--destination", "postgresql://u:pw-Argv-55@h:70000/db"], "port"),
    (["run", PKG, "--destination", "duckdb:///x.duckdb?shema=s"], "'schema'"),
    (["run", PKG, "--destination-env", "NO_SUCH_VARIABLE_HERE"], "--destination-env"),
    (["run", PKG, "--destination-file", "no/such/file"], "--destination-file"),
    (["run", PKG, "--destination", "duckdb:///x.duckdb", "--destination-env", "X"], "--destination-env"),
    (["run", "ext::sh -c touch% pwned"], "remote-helper"),
    (["run", "fd::7"], "remote-helper"),
    (["watch", PKG, "--every", "0"], "--every"),
    (["watch", PKG, "--every", "-1"], "--every"),
    (["watch", PKG, "--every", "nan"], "--every"),
    (["watch", PKG, "--every", "5", "--max-cycles", "0"], "--max-cycles"),
    (["watch", PKG, "--every", "5", "--load", "no_such_module_here:load"], "--load"),
    (["watch", PKG, "--every", "5", "--on-overlap", "never"], "--on-overlap"),
    (["cloud", "run", "abc"], "JOB_ID"),
    (["cloud", "run", "0"], "JOB_ID"),
    (["cloud", "run", JOB_ID, "--timeout", "-5"], "--timeout"),
    (["cloud", "run", JOB_ID, "--poll-interval", "0"], "--poll-interval"),
    (["cloud", "run", JOB_ID, "--poll-interval", "nan"], "--poll-interval"),
    (["cloud", "run", JOB_ID, "--data", "[]"], "--data"),
    (["cloud", "run", JOB_ID, "--account-id", "-2"], "--account-id"),
    (["cloud", "status", "x1"], "RUN_ID"),
    (["cloud", "status", "1", "--wait", "--poll-interval", "-1"], "--poll-interval"),
    (["cloud", "cancel", "-4"], "RUN_ID"),
    (["cloud", "emulator", "--port", "70000"], "--port"),
    (["cloud", "emulator", "--port", "-1"], "--port"),
    (["venv", "prune", "--older-than-days", "-1"], "--older-than-days"),
    (["venv", "prune", "--older-than-days", "x"], "--older-than-days"),
    (["venv", "create", "duckdb", "--installer", "conda"], "--installer"),
    (["-v", "run", PKG, "--unknown-flag"], "--unknown-flag"),
    (["run", PKG, "--working-dir", f"{PKG}/dbt_project.yml"], "--working-dir"),
    (["run", PKG], "--destination"),  # no destination, and the package has no profiles.yml
    (["venv", "list", "--venv-dir", f"{PKG}/dbt_project.yml"], "--venv-dir"),
    (["cloud", "status", "1", "--base-url", "https://cloud getdbt.com"], "base_url"),
    (["retry", "--destination-env", "NO_SUCH_VARIABLE_HERE"], "--destination-env"),
    (["records", "--outcome", "broken"], "--outcome"),
    (["records", "--limit", "0"], "--limit"),
    (["report", "--history", "--last", "0"], "--last"),
]


@pytest.mark.parametrize(("argv", "flag"), [pytest.param(argv, flag, id=" ".join(argv)) for argv, flag in CASES])
def test_bad_flags_exit_2_in_one_line(
    guard: Guard, emulator: DbtCloudEmulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    argv: list[str], flag: str,
) -> None:
    monkeypatch.setenv("DBT_CLOUD__API_TOKEN", TOKEN)
    monkeypatch.setenv("DBT_CLOUD__ACCOUNT_ID", str(ACCOUNT))
    monkeypatch.setenv("DBT_CLOUD__BASE_URL", emulator.base_url)
    monkeypatch.delenv("DBT_KICKOFF_DESTINATION", raising=False)
    monkeypatch.delenv("DBT_PROFILES_DIR", raising=False)
    monkeypatch.setenv("HOME", str(guard.root / "home"))  # no ~/.dbt/profiles.yml
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse
        code = exc.code
    out = capsys.readouterr()
    errors = [line for line in out.err.splitlines() if not line.startswith("warning:")]
    assert code == 2, out.err
    assert len(errors) == 1 and errors[0].startswith("error:"), out.err
    assert flag in errors[0]
    assert "Traceback" not in out.err and "pw-Argv-55" not in out.err + out.out
    assert emulator.requests == []


def test_a_real_process_gives_one_line_and_exit_2(guard: Guard) -> None:
    done = subprocess.run([sys.executable, "-m", "dbt_kickoff.cli.main", "run", PKG, "--timeout", "-3"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "--timeout" in done.stderr and done.stdout == ""


HINTS: list[tuple[list[str], str]] = [
    (["run", PKG, "--destnation", "duckdb:///x.duckdb"], "did you mean --destination?"),
    (["rn", PKG], "did you mean 'run'?"),
    ([PKG, "run"], f"did you mean 'dbt-kickoff run {PKG}'?"),
    (["run", PKG, "--command", "run_al"], "did you mean 'run_all'?"),
    (["cloud", "statsu", "1"], "did you mean 'status'?"),
    (["run", PKG, "--destination", "duckb:///x.duckdb"], "did you mean 'duckdb:'?"),
    (["run", PKG, "--destination", "duckdb//wh/x.duckdb"], "did you mean duckdb:///wh/x.duckdb?"),
    (["run", PKG, "--destination", "postgresql//u:pw-Argv-55@h/db"], "did you mean postgresql://u:***@h/db?"),
    (["run", "postgresql://u:pw-Argv-55@h/db", PKG], "'PACKAGE_LOCATION --destination postgresql://u:***@h/db'"),
]


@pytest.mark.parametrize(("argv", "hint"), HINTS, ids=[" ".join(a) for a, _ in HINTS])
def test_typos_get_the_close_match(guard: Guard, capsys: pytest.CaptureFixture[str], argv: list[str],
                                   hint: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert hint in err and "pw-Argv-55" not in err


def test_cli_errors_name_flags_not_python_parameters() -> None:
    from dbt_kickoff.cli.wording import in_cli_terms

    assert in_cli_terms("could not reach x (allow_stale_package=True keeps using the cached checkout)") == \
        "could not reach x (--allow-stale-package keeps using the cached checkout)"
    assert in_cli_terms("Set package_repository_branch to an existing branch") == "Set --branch to an existing branch"
    assert in_cli_terms("package(): working_dir must be a folder") == "--working-dir must be a folder"
    assert in_cli_terms("create it with dlt.pipeline(..., dataset_name='x')") == \
        "create it with dlt.pipeline(..., dataset_name='x')"  # code stays code


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    import dbt_kickoff

    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"dbt-kickoff {dbt_kickoff.__version__}\n"
