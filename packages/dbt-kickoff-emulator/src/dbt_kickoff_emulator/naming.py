"""The names the emulated dbt project uses: its project, database and schema, and a node's name from its id."""

from __future__ import annotations

PROJECT_NAME = "analytics"
DATABASE = "analytics"
SCHEMA = "dbt_prod"


def node_name(unique_id: str) -> str:
    """``model.analytics.orders`` -> ``orders``; a test's name without its hash; a source's ``raw.orders``."""
    parts = unique_id.split(".")
    if parts[0] == "source" and len(parts) >= 4:
        return f"{parts[2]}.{parts[3]}"
    if parts[0] == "test" and len(parts) >= 4:
        return ".".join(parts[2:-1])
    return parts[-1] if len(parts) > 1 else unique_id
