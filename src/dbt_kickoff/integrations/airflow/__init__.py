"""Apache Airflow 3 integration (``pip install 'dbt-kickoff[airflow]'``).

>>> from dbt_kickoff.integrations.airflow import DbtKickoffOperator, DbtCloudRunOperator
>>> transform = DbtKickoffOperator(task_id="transform", package_location="dbt/shop", conn_id="warehouse",
...                                command="build", select="tag:daily", vars={"day": "{{ ds }}"})
>>> cloud = DbtCloudRunOperator(task_id="cloud", job_id=1234, conn_id="dbt_cloud_default", deferrable=True)
>>> dbt = DbtKickoffTaskGroup(group_id="dbt", package_location="dbt/shop", conn_id="warehouse",
...                           select="tag:daily", test_behavior="after_each")   # a task per dbt node

``connections`` (the Airflow connection -> destination mapping) imports without Airflow; the operators and the
trigger import Airflow when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dbt_kickoff.integrations.airflow.connections import (
    SUPPORTED_CONNECTION_TYPES,
    cloud_credentials_from_connection,
    connection_destination,
    destination_from_connection,
)

if TYPE_CHECKING:
    from dbt_kickoff.integrations.airflow.cloud import DbtCloudRunOperator
    from dbt_kickoff.integrations.airflow.core import DbtKickoffOperator
    from dbt_kickoff.integrations.airflow.node_trigger import DbtNodeTrigger
    from dbt_kickoff.integrations.airflow.nodes import DbtNodeOperator, DbtProducerOperator
    from dbt_kickoff.integrations.airflow.task_group import DbtKickoffDag, DbtKickoffTaskGroup
    from dbt_kickoff.integrations.airflow.triggers import DbtCloudRunTrigger

__all__ = [
    "SUPPORTED_CONNECTION_TYPES",
    "DbtCloudRunOperator",
    "DbtCloudRunTrigger",
    "DbtKickoffDag",
    "DbtKickoffOperator",
    "DbtKickoffTaskGroup",
    "DbtNodeOperator",
    "DbtNodeTrigger",
    "DbtProducerOperator",
    "cloud_credentials_from_connection",
    "connection_destination",
    "destination_from_connection",
]
_LAZY = {
    "DbtKickoffOperator": "dbt_kickoff.integrations.airflow.core",
    "DbtCloudRunOperator": "dbt_kickoff.integrations.airflow.cloud",
    "DbtCloudRunTrigger": "dbt_kickoff.integrations.airflow.triggers",
    "DbtKickoffTaskGroup": "dbt_kickoff.integrations.airflow.task_group",
    "DbtKickoffDag": "dbt_kickoff.integrations.airflow.task_group",
    "DbtNodeOperator": "dbt_kickoff.integrations.airflow.nodes",
    "DbtProducerOperator": "dbt_kickoff.integrations.airflow.nodes",
    "DbtNodeTrigger": "dbt_kickoff.integrations.airflow.node_trigger",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
