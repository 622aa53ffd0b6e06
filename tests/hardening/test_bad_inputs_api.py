"""Bad input to every public entry point: a ConfigurationError naming the option, before anything starts.

Each case runs inside the ``guard`` sandbox, which fails the test if a process was started or a file written;
dbt Cloud cases also check that the emulator received no request at all (so no run was triggered).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

import dbt_kickoff
from dbt_kickoff.cloud import DbtCloud, get_dbt_cloud_run_status, run_dbt_cloud_job
from dbt_kickoff.cloud.emulator import DbtCloudEmulator
from dbt_kickoff.cycles import iter_cycles
from dbt_kickoff.errors import ConfigurationError
from tests.hardening.conftest import JOB, Guard

PG = {"type": "postgres", "host": "127.0.0.1", "user": "u", "password": "pw-Hidden-77", "dbname": "d"}
NAN, INF = math.nan, math.inf


def package(guard: Guard, **options: Any) -> dbt_kickoff.PackageRunner:
    return dbt_kickoff.package(options.pop("destination", None), options.pop("location", guard.project), **options)


def runner(guard: Guard) -> dbt_kickoff.PackageRunner:
    """A runner that starts no worker by itself (warm_start=False), so the guard sees what the bad call starts."""
    return dbt_kickoff.package(None, guard.project, warm_start=False)


Case = tuple[str, Callable[[Guard], Any], str]

CORE: list[Case] = [
    # package(): types and ranges
    ("location None", lambda g: dbt_kickoff.package(None, None), "package_location"),
    ("location int", lambda g: dbt_kickoff.package(None, 123), "package_location"),
    ("location empty", lambda g: dbt_kickoff.package(None, ""), "package_location"),
    ("command_timeout negative", lambda g: package(g, command_timeout=-1), "command_timeout"),
    ("command_timeout nan", lambda g: package(g, command_timeout=NAN), "command_timeout"),
    ("command_timeout inf", lambda g: package(g, command_timeout=INF), "command_timeout"),
    ("command_timeout str", lambda g: package(g, command_timeout="10"), "command_timeout"),
    ("connect_timeout zero", lambda g: package(g, destination=PG, connect_timeout=0), "connect_timeout"),
    ("connect_timeout nan", lambda g: package(g, destination=PG, connect_timeout=NAN), "connect_timeout"),
    ("threads zero", lambda g: package(g, threads=0), "threads"),
    ("threads float", lambda g: package(g, threads=2.5), "threads"),
    ("threads str", lambda g: package(g, threads="4"), "threads"),
    ("threads bool", lambda g: package(g, threads=True), "threads"),
    ("recycle_after_commands negative", lambda g: package(g, recycle_after_commands=-5), "recycle_after_commands"),
    ("recycle_above_memory_mb nan", lambda g: package(g, recycle_above_memory_mb=NAN), "recycle_above_memory_mb"),
    ("dataset_name int", lambda g: package(g, dataset_name=5), "dataset_name"),
    ("dataset_name empty", lambda g: package(g, dataset_name=""), "dataset_name"),
    ("profiles_dir int", lambda g: package(g, profiles_dir=7), "profiles_dir"),
    ("working_dir list", lambda g: package(g, working_dir=["a"]), "working_dir"),
    ("working_dir a file", lambda g: package(g, location="https://h.example/r.git",
                                             working_dir=g.project / "dbt_project.yml"), "working_dir"),
    ("subdirectory int", lambda g: package(g, subdirectory=3), "subdirectory"),
    ("auto_full_refresh str", lambda g: package(g, auto_full_refresh_when_out_of_sync="yes"),
     "auto_full_refresh_when_out_of_sync"),
    ("on_event str", lambda g: package(g, on_event="print"), "on_event"),
    ("unknown option", lambda g: package(g, comand_timeout=5), "'command_timeout'"),
    ("too many positional", lambda g: dbt_kickoff.package(None, g.project, "main"), "positional"),
    # git options
    ("git_options str", lambda g: package(g, location="https://h.example/r.git", git_options="timeout=5"),
     "git_options"),
    ("git option misspelt", lambda g: package(g, location="https://h.example/r.git", git_options={"timout": 5}),
     "'timeout'"),
    ("git option negative timeout",
     lambda g: package(g, location="https://h.example/r.git", git_options={"timeout": -3}), "timeout"),
    ("git option bad policy",
     lambda g: package(g, location="https://h.example/r.git", git_options={"host_key_policy": "yolo"}),
     "host_key_policy"),
    # git transports
    ("remote helper ext", lambda g: package(g, location="ext::sh -c touch% /tmp/pwned"), "remote-helper"),
    ("remote helper fd", lambda g: package(g, location="fd::17"), "remote-helper"),
    ("scheme ftp", lambda g: package(g, location="ftp://h.example/r.git"), "scheme"),
    ("ssh host option", lambda g: package(g, location="ssh://-oProxyCommand=x/r.git"), "host"),
    # destinations
    ("mapping misspelt schema", lambda g: package(g, destination={**PG, "shema": "x"}), "'schema'"),
    ("mapping misspelt database", lambda g: package(g, destination={**PG, "databse": "x"}), "'database'"),
    ("mapping port range", lambda g: package(g, destination={**PG, "port": 70000}), "port"),
    ("mapping port text", lambda g: package(g, destination={**PG, "port": "abc"}), "port"),
    ("mapping host list", lambda g: package(g, destination={**PG, "host": ["h"]}), "host"),
    ("mapping threads", lambda g: package(g, destination={**PG, "threads": -1}), "threads"),
    ("url port range", lambda g: package(g, destination="postgresql://u:pw@h:99999/db"), "port"),
    ("url misspelt parameter", lambda g: package(g, destination="postgresql://u:pw@h/db?sslmod=x"), "'sslmode'"),
    ("destination not a url", lambda g: package(g, destination="warehouse"), "destination"),
    ("destination int", lambda g: package(g, destination=42), "destination"),
    # PackageRunner methods
    ("run cmd_params str", lambda g: runner(g).run(cmd_params="--select x"), "cmd_params"),
    ("seed cmd_params ints", lambda g: runner(g).seed(cmd_params=[1, 2]), "cmd_params"),
    ("run additional_vars str", lambda g: runner(g).run(additional_vars="a=1"), "additional_vars"),
    ("run additional_vars int keys", lambda g: runner(g).run(additional_vars={1: "a"}), "additional_vars"),
    ("build full_refresh str", lambda g: runner(g).build(full_refresh="true"), "full_refresh"),
    ("run_all run_params str", lambda g: runner(g).run_all(run_params="--fail-fast"), "run_params"),
    ("run_all empty selector", lambda g: runner(g).run_all(source_tests_selector=""), "source_tests_selector"),
    ("test dataset int", lambda g: runner(g).test(destination_dataset_name=3), "destination_dataset_name"),
    ("invoke args str", lambda g: runner(g).invoke("compile"), "args"),
    ("run unknown option", lambda g: runner(g).run(selct="x"), "selct"),
    ("transform_loaded command int", lambda g: runner(g).transform_loaded(["raw.orders"], command=5), "command"),
    # get_venv()
    ("venv dbt_version float", lambda g: dbt_kickoff.get_venv("duckdb", dbt_version=1.11), "dbt_version"),
    ("venv lock_timeout negative", lambda g: dbt_kickoff.get_venv("duckdb", lock_timeout=-1), "lock_timeout"),
    ("venv installer", lambda g: dbt_kickoff.get_venv("duckdb", installer="conda"), "installer"),
    ("venv venv_dir int", lambda g: dbt_kickoff.get_venv("duckdb", venv_dir=5), "venv_dir"),
    ("venv venv_dir a file", lambda g: dbt_kickoff.get_venv("duckdb", venv_dir=g.project / "dbt_project.yml"),
     "venv_dir"),
    ("venv adapters int", lambda g: dbt_kickoff.get_venv("duckdb", adapters=5), "adapters"),
    ("venv no_index str", lambda g: dbt_kickoff.get_venv("duckdb", no_index="no"), "no_index"),
    ("venv unknown option", lambda g: dbt_kickoff.get_venv("duckdb", index="x"), "'index_url'"),
    ("venv find_links None item", lambda g: dbt_kickoff.get_venv("duckdb", find_links=[None]), "find_links"),
    # iter_cycles()
    ("cycles every zero", lambda g: iter_cycles(runner(g), every=0), "every"),
    ("cycles every negative", lambda g: iter_cycles(runner(g), every=-5), "every"),
    ("cycles every nan", lambda g: iter_cycles(runner(g), every=NAN), "every"),
    ("cycles every str", lambda g: iter_cycles(runner(g), every="5"), "every"),
    ("cycles max_cycles zero", lambda g: iter_cycles(runner(g), every=1, max_cycles=0), "max_cycles"),
    ("cycles overlap", lambda g: iter_cycles(runner(g), every=1, overlap="never"), "overlap"),
    ("cycles load str", lambda g: iter_cycles(runner(g), "pkg.module:function", every=1), "load"),
    ("cycles transform", lambda g: iter_cycles(runner(g), every=1, transform="seed"), "transform"),
]


@pytest.mark.parametrize(("call", "option"), [case[1:] for case in CORE], ids=[case[0] for case in CORE])
def test_core_bad_input_is_refused_before_anything_starts(guard: Guard, call: Callable[[Guard], Any],
                                                          option: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        call(guard)
    message = str(caught.value)
    assert option in message
    assert "\n" not in message
    assert "pw-Hidden-77" not in message


CloudCase = tuple[str, Callable[[dict[str, Any]], Any], str]

CLOUD: list[CloudCase] = [
    ("wait_seconds zero", lambda c: run_dbt_cloud_job(c, JOB, wait_seconds=0), "wait_seconds"),
    ("wait_seconds nan", lambda c: run_dbt_cloud_job(c, JOB, wait_seconds=NAN), "wait_seconds"),
    ("timeout negative", lambda c: run_dbt_cloud_job(c, JOB, timeout=-1), "timeout"),
    ("timeout str", lambda c: run_dbt_cloud_job(c, JOB, timeout="1h"), "timeout"),
    ("timeout nan", lambda c: run_dbt_cloud_job(c, JOB, timeout=NAN), "timeout"),
    ("job_id negative", lambda c: run_dbt_cloud_job(c, -3), "job_id"),
    ("job_id text", lambda c: run_dbt_cloud_job(c, "abc"), "job_id"),
    ("job_id float", lambda c: run_dbt_cloud_job(c, 1.5), "job_id"),
    ("data str", lambda c: run_dbt_cloud_job(c, JOB, data="git_sha=abc"), "data"),
    ("http_timeout zero", lambda c: run_dbt_cloud_job(c, JOB, http_timeout=0), "http_timeout"),
    ("wait_for_outcome str", lambda c: run_dbt_cloud_job(c, JOB, wait_for_outcome="no"), "wait_for_outcome"),
    ("cancel_on_timeout int", lambda c: run_dbt_cloud_job(c, JOB, cancel_on_timeout=1), "cancel_on_timeout"),
    ("idempotency_key empty", lambda c: run_dbt_cloud_job(c, JOB, idempotency_key=""), "idempotency_key"),
    ("unknown option", lambda c: run_dbt_cloud_job(c, JOB, wait_second=5), "'wait_seconds'"),
    ("status run_id zero", lambda c: get_dbt_cloud_run_status(c, run_id=0), "run_id"),
    ("status wait_seconds negative", lambda c: get_dbt_cloud_run_status(c, 1, wait_seconds=-1), "wait_seconds"),
    ("client http_timeout nan", lambda c: DbtCloud(c, http_timeout=NAN), "http_timeout"),
    ("trigger data list", lambda c: DbtCloud(c).trigger(JOB, data=["x"]), "data"),
    ("wait poll_interval nan", lambda c: DbtCloud(c).wait(1, poll_interval=NAN), "poll_interval"),
    ("run_job poll_interval inf", lambda c: DbtCloud(c).run_job(JOB, poll_interval=INF), "poll_interval"),
    ("base_url with a space", lambda c: run_dbt_cloud_job({**c, "base_url": c["base_url"].replace("://", ":// ")},
                                                          JOB), "base_url"),
    ("base_url host with a space", lambda c: DbtCloud({**c, "base_url": "https://cloud getdbt.com"}).trigger(JOB),
     "base_url"),
]


@pytest.mark.parametrize(("call", "option"), [case[1:] for case in CLOUD], ids=[case[0] for case in CLOUD])
def test_cloud_bad_input_is_refused_before_any_request(
    guard: Guard, emulator: DbtCloudEmulator, cloud_credentials: dict[str, Any],
    call: Callable[[dict[str, Any]], Any], option: str,
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        call(cloud_credentials)
    assert option in str(caught.value)
    assert emulator.run_ids() == []
    assert emulator.requests == []  # not even a status check: the trigger never left


def test_at_least_sixty_bad_inputs_are_covered() -> None:
    from tests.hardening.test_bad_inputs_cli import CASES as CLI_CASES

    assert len(CORE) + len(CLOUD) + len(CLI_CASES) >= 60
