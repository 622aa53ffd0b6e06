"""The emulator's pytest fixtures under their documented name (see ``dbt_kickoff_emulator.pytest_plugin``).

Enable with ``pytest_plugins = ["dbt_kickoff.cloud.emulator.pytest_plugin"]`` in a conftest.py.
"""

from dbt_kickoff.cloud.emulator import EmulatorNotInstalled  # noqa: F401 - the clear error when it is missing
from dbt_kickoff_emulator.pytest_plugin import (
    EMULATOR_ACCOUNT_ID,
    EMULATOR_JOB_ID,
    EMULATOR_TOKEN,
    dbt_cloud_credentials,
    dbt_cloud_emulator,
)

__all__ = ["EMULATOR_ACCOUNT_ID", "EMULATOR_JOB_ID", "EMULATOR_TOKEN", "dbt_cloud_credentials", "dbt_cloud_emulator"]
