"""Where calls meet records: the hook that writes a run record for every call of a runner."""

from __future__ import annotations

from dbt_kickoff.core.call import Call, CallHooks
from dbt_kickoff.core.invocations import package_key
from dbt_kickoff.core.project import Project
from dbt_kickoff.records.recorder import Recorder, RecordSettings
from dbt_kickoff.records.store import RecordStore
from dbt_kickoff.reports import StepReport


class RecordsHook(CallHooks):
    """Leaves ``<records>/<UTC start>-<id>/`` for every call (dbt's artifacts per step, the call's ``dbt.log``
    lines, ``report.json``); with ``lineage`` the record is assembled even when records are off, for the
    OpenLineage hook that follows (``call.record_folder`` / ``call.record_data`` once the call ended)."""

    name = "run record"

    def __init__(self, settings: RecordSettings, *, lineage: bool = False) -> None:
        self.settings = settings
        self.lineage = lineage
        self._recorders: dict[int, Recorder] = {}

    def store(self, project: Project) -> RecordStore | None:
        """The store the records of ``project`` go to (``None`` with ``records=False``)."""
        if not self.settings.enabled:
            return None
        return self.settings.store(project.name, package_key(project.location, project.name))

    def call_started(self, call: Call) -> None:
        if self.settings.enabled or self.lineage:
            self._recorders[id(call)] = Recorder(self.settings, call, write_lineage=self.lineage)

    def before_dbt(self, call: Call) -> None:
        recorder = self._recorders.get(id(call))
        if recorder is not None:
            recorder.mark_started()

    def step_done(self, call: Call, step: StepReport) -> None:
        recorder = self._recorders.get(id(call))
        if recorder is not None:
            recorder.step_done(step)

    def call_finished(self, call: Call, error: BaseException | None) -> None:
        recorder = self._recorders.pop(id(call), None)
        if recorder is not None:
            recorder.finish(error)
            call.record_folder, call.record_data = recorder.folder, recorder.data
