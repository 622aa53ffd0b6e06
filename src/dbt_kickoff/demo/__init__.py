"""The demo: a sample shop data set loaded with dlt (``data``), a bundled dbt package computing its metrics
(``dbt_package/``), and ``run_demo`` tying them together with the Core runner (``run``)."""

from pathlib import Path

DBT_PACKAGE_DIR = Path(__file__).with_name("dbt_package")
"""The bundled dbt package (read-only when installed: copy it before running dbt in it)."""
