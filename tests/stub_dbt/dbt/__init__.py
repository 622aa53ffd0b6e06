"""A stand-in for dbt-core used by the worker protocol tests (see README.md beside it)."""
