"""The names users import from ``dbt_kickoff`` stay put (the errors a caller must catch included)."""

from __future__ import annotations

import dbt_kickoff


def test_exported_names_are_pinned() -> None:
    assert sorted(dbt_kickoff.__all__) == [
        "Call", "CallHooks", "CallResults", "ConfigurationError", "DBTProcessingError", "DbtCancelled",
        "IncrementalSchemaOutOfSyncError",
        "KickoffError", "LoadFailed", "NodeResult", "PackageRunner", "PrerequisitesException", "RunReport",
        "StepReport", "Venv", "cancel_on_signals", "get_venv", "package",
    ]
    for name in dbt_kickoff.__all__:
        assert getattr(dbt_kickoff, name) is not None


def test_every_error_a_caller_catches_is_a_kickoff_error() -> None:
    for error in (dbt_kickoff.DbtCancelled, dbt_kickoff.DBTProcessingError, dbt_kickoff.LoadFailed,
                  dbt_kickoff.PrerequisitesException, dbt_kickoff.ConfigurationError):
        assert issubclass(error, dbt_kickoff.KickoffError)
