"""The call core: what one public runner call knows and does (the project as read once, dbt command lines and
identities, the ``Call`` every feature works through, its hooks, the ``run_all`` step plan, the runner's
option specs). Features (changed-only, records, lineage, warm state) take a ``Call`` or register hooks."""
