"""The pytest plugin's fixtures and the foreground ``serve()`` entry point."""

from __future__ import annotations

import signal
import subprocess
import sys
from typing import Any

import httpx

from dbt_kickoff_emulator import DbtCloudEmulator
from dbt_kickoff_emulator.pytest_plugin import (  # noqa: F401 - fixtures used by name
    dbt_cloud_credentials,
    dbt_cloud_emulator,
)


def test_fixture_gives_a_ready_emulator(
    dbt_cloud_emulator: DbtCloudEmulator,  # noqa: F811 - the imported fixture
    dbt_cloud_credentials: dict[str, Any],  # noqa: F811
) -> None:
    creds = dbt_cloud_credentials
    assert creds["base_url"] == dbt_cloud_emulator.base_url
    url = f"{creds['base_url']}/api/v2/accounts/{creds['account_id']}/jobs/{creds['job_id']}/run/"
    response = httpx.post(
        url, json={"cause": "plugin"}, headers={"Authorization": f"Token {creds['api_token']}"}
    )
    assert response.status_code == 200
    run_id = response.json()["data"]["id"]
    assert dbt_cloud_emulator.run_ids() == [run_id]


def test_serve_prints_a_demo_and_stops_on_ctrl_c() -> None:
    code = "from dbt_kickoff_emulator import serve; serve(0)"
    process = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line.strip())
            if line.startswith("Press Ctrl-C"):
                break
        base_url = lines[0].rsplit(" ", 1)[1]
        token = next(line.split()[2] for line in lines if line.startswith("api token:"))
        job_id = next(line.split()[2] for line in lines if line.startswith("job id:"))
        response = httpx.post(
            f"{base_url}/api/v2/accounts/1/jobs/{job_id}/run/",
            json={"cause": "demo"},
            headers={"Authorization": f"Token {token}"},
            timeout=5,
        )
        assert response.status_code == 200
        assert response.json()["data"]["href"].startswith(f"{base_url}/deploy/1/projects/")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
