"""Changed-only builds: rebuild only what code, data or the last runs' failures made stale.

One job per module: :mod:`~dbt_kickoff.changed.history` finds the last complete good run (and the runs since) in
the run records; :mod:`~dbt_kickoff.changed.state` turns them into dbt's ``--state`` folder;
:mod:`~dbt_kickoff.changed.sources` says which sources can be checked and how, and which are fresher;
:mod:`~dbt_kickoff.changed.warehouse` opens a short read-only connection, over which
:mod:`~dbt_kickoff.changed.dlt_loads` reads dlt's load ids and :mod:`~dbt_kickoff.changed.loaded_at` measures
freshness as dbt would; :mod:`~dbt_kickoff.changed.source_state` gathers what the sources hold now and held then;
:mod:`~dbt_kickoff.changed.selection` turns the criteria into dbt selectors and per-node reasons, and
:mod:`~dbt_kickoff.changed.listing` lists their nodes (on the good run's manifest, or with ``dbt ls``);
:mod:`~dbt_kickoff.changed.run` wires it into ``build(changed_only=True)`` / ``run_all(changed_only=True)``.
The rules are in the README ("Build only what changed").
"""

from dbt_kickoff.reports import ChangeSummary

__all__ = ["ChangeSummary"]
