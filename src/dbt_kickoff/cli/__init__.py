"""The ``dbt-kickoff`` command: a thin shell over the Python API."""
