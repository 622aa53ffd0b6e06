"""dbt packages as task groups, for the tests. Each DAG is defined when its package's variable is set:

- ``dbt_nodes`` (``NODES_PACKAGE``, connection ``warehouse``): load >> the package's nodes >> done;
- ``dbt_nodes_retry`` (``RETRY_PACKAGE``, ``warehouse_retry``): the same, a rebuild takes the downstream along;
- ``dbt_nodes_slow`` (``SLOW_PACKAGE``, ``warehouse_slow``): the model ``slow`` runs until it is stopped
  (after writing ``SLOW_MARKER``).

``<NAME>_TEST_BEHAVIOR`` chooses the tests' rendering.
"""

import os
from datetime import datetime

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

from dbt_kickoff.integrations.airflow import DbtKickoffTaskGroup


def package_dag(dag_id: str, variable: str, conn_id: str, **options: object) -> None:
    location = os.environ.get(f"{variable}_PACKAGE")
    if not location:
        return
    with DAG(dag_id, schedule=None, start_date=datetime(2024, 3, 1), catchup=False, max_active_runs=1):
        load = EmptyOperator(task_id="load")
        dbt = DbtKickoffTaskGroup(
            group_id="dbt", package_location=location, conn_id=conn_id,
            test_behavior=os.environ.get(f"{variable}_TEST_BEHAVIOR", "after_each"), threads=4, poll_interval=1.0,
            **options,
        )
        load >> dbt >> EmptyOperator(task_id="done")


package_dag("dbt_nodes", "NODES", "warehouse")
package_dag("dbt_nodes_retry", "RETRY", "warehouse_retry", retry_downstream=True)
package_dag("dbt_nodes_slow", "SLOW", "warehouse_slow", vars={"slow_marker": os.environ.get("SLOW_MARKER", "")},
            cancel_grace=5)
