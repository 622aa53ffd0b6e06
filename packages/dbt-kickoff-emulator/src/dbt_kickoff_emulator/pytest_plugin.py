"""Pytest fixtures for testing code against the emulator.

Enable with ``pytest_plugins = ["dbt_kickoff_emulator.pytest_plugin"]`` in a conftest.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from dbt_kickoff_emulator.app import DbtCloudEmulator

EMULATOR_ACCOUNT_ID = 1
EMULATOR_JOB_ID = 70403103900001
EMULATOR_TOKEN = "dbtc_emulator-test-token"


@pytest.fixture
def dbt_cloud_emulator() -> Iterator[DbtCloudEmulator]:
    """A started emulator (real clock) with account 1, token ``EMULATOR_TOKEN`` and one ``dbt build`` job."""
    with DbtCloudEmulator() as emulator:
        emulator.add_account(EMULATOR_ACCOUNT_ID, "Emulated account")
        emulator.add_token(EMULATOR_TOKEN, account_ids=[EMULATOR_ACCOUNT_ID])
        emulator.add_job(EMULATOR_ACCOUNT_ID, EMULATOR_JOB_ID, "Daily build", execute_steps=["dbt build"])
        yield emulator


@pytest.fixture
def dbt_cloud_credentials(dbt_cloud_emulator: DbtCloudEmulator) -> dict[str, Any]:
    """``api_token``, ``account_id``, ``job_id`` and ``base_url`` of the ``dbt_cloud_emulator`` fixture."""
    return {
        "api_token": EMULATOR_TOKEN,
        "account_id": EMULATOR_ACCOUNT_ID,
        "job_id": EMULATOR_JOB_ID,
        "base_url": dbt_cloud_emulator.base_url,
    }
