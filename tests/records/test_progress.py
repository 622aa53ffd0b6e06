"""The CLI's node lines where output is not a terminal: one line per node, never wrapped."""

from __future__ import annotations

import io

from rich.console import Console

from dbt_kickoff.engines import DbtEvent, NodeEvent
from dbt_kickoff.progress import NodeProgress, console_for, results_table
from dbt_kickoff.results import NodeResult

LONG = "a_model_with_a_name_long_enough_to_pass_eighty_columns_by_itself_" + "x" * 40


def test_one_unwrapped_line_per_node_in_a_non_terminal() -> None:
    out = io.StringIO()
    progress = NodeProgress(Console(file=out, width=80, soft_wrap=False))
    with progress:
        for name in (LONG, "short"):
            node = NodeEvent(unique_id=f"model.p.{name}", name=name, resource_type="model", status="success",
                             execution_time=1.25)
            progress(DbtEvent(name="NodeStart", level="info", message="", node=node))
            progress(DbtEvent(name="NodeFinished", level="info", message="", node=node))
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert LONG in lines[0] and "1.25s" in lines[0] and "short" in lines[1]
    assert "\x1b" not in out.getvalue()  # no spinner, no cursor movement


def test_results_table_is_not_folded_at_80_columns_off_terminal(capsys: object) -> None:
    console = console_for()
    assert not console.is_terminal and console.width >= 200
    result = NodeResult(model_name=LONG, unique_id=f"model.p.{LONG}", resource_type="model", status="success",
                        time=1.0, message=None)
    out = io.StringIO()
    Console(file=out, width=console.width).print(results_table([result]))
    assert any(LONG in line for line in out.getvalue().splitlines())
