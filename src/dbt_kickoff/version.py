"""The version of dbt-kickoff (what ``--version`` prints and the dbt Cloud client sends as its User-Agent)."""

__version__ = "0.1.0"
