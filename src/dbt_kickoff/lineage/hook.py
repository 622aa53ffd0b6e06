"""The OpenLineage hook: emits a call's events from its run record once the call ended."""

from __future__ import annotations

from typing import Any

from dbt_kickoff.core.call import Call, CallHooks
from dbt_kickoff.lineage import emit_for_record


class LineageHook(CallHooks):
    """Sends the OpenLineage events of each call's record through the client ``option`` selects (see
    :mod:`dbt_kickoff.lineage`); registered after the records hook, which assembles the record."""

    name = "OpenLineage emitter"

    def __init__(self, option: Any) -> None:
        self.option = option

    def call_finished(self, call: Call, error: BaseException | None) -> None:
        if call.record_folder is not None and call.record_data is not None:
            emit_for_record(call.record_folder, call.record_data, self.option)
