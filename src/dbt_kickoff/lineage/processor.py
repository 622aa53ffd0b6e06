"""``openlineage-dbt``'s artifact processor, fed from a run record instead of a project's ``target/``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openlineage.common.provider.dbt.facets import DbtRunRunFacet
from openlineage.common.provider.dbt.processor import DbtArtifactProcessor
from openlineage.common.provider.dbt.utils import PRODUCER


class RecordProcessor(DbtArtifactProcessor):
    """Reads one step's ``run_results.json`` and the record's manifest; the dataset namespace comes from the
    record's destination (a dbt profile output whose secrets are only ``env_var()`` references)."""

    should_raise_on_unsupported_command = True

    def __init__(self, *, manifest: Mapping[str, Any], run_results: Mapping[str, Any], report: Mapping[str, Any],
                 job_namespace: str) -> None:
        super().__init__(producer=PRODUCER, job_namespace=job_namespace)
        self._manifest = dict(manifest)
        self._run_results = dict(run_results)
        self._report = report
        project = report.get("package") or {}
        self.project_name = project.get("project_name")
        self.profile_name = (report.get("identity") or {}).get("profile_name")

    def _profile(self) -> dict[str, Any]:
        destination = self._report.get("destination") or {}
        output = dict(destination.get("output") or {})
        output.setdefault("type", destination.get("adapter_type") or
                          self._manifest.get("metadata", {}).get("adapter_type"))
        return output

    def get_dbt_metadata(self) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], None]:
        return self._manifest, self._run_results, self._profile(), None

    def extract_namespace(self, profile: dict[str, Any]) -> str:
        """A dbt Cloud run's record has no warehouse host: its namespace names the adapter and environment."""
        cloud = self._report.get("cloud")
        if cloud:
            from dbt_kickoff.lineage import cloud_dataset_namespace

            return cloud_dataset_namespace(cloud, profile.get("type"))
        return str(super().extract_namespace(profile))

    def dbt_run_run_facet(self) -> dict[str, DbtRunRunFacet]:
        invocation_id = self.run_metadata.get("invocation_id")
        if not invocation_id:
            return {}
        return {
            "dbt_run": DbtRunRunFacet(
                invocation_id=invocation_id, project_name=self.project_name, project_version=None,
                profile_name=self.profile_name, dbt_runtime="cloud" if self._report.get("cloud") else "core",
                full_refresh=self.full_refresh,
            )
        }
