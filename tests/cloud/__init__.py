"""Tests of the dbt Cloud client, runner and emulator."""
