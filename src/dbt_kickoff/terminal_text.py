"""The one home of making foreign text safe to show: what dbt or the warehouse wrote may hold terminal control
sequences (a database error quoting data with "set window title", "clear screen" or colour escapes).

:func:`strip_control` removes them, and every other control character but newline and tab, from any text that
came from dbt or the warehouse before it reaches a terminal or a log: live events (``engines.base``), node
messages read from ``run_results.json`` (``results``) and the command line's ``error:`` line.
"""

from __future__ import annotations

import re

# ESC [ … final (CSI: colours, cursor moves, clear screen), ESC ] … BEL/ST (OSC: window title, hyperlinks,
# clipboard), ESC P/X/^/_ … ST (DCS, SOS, PM, APC: device control strings), their 8-bit forms, then any other
# two-byte ESC sequence. A sequence cut short at the end of the text is removed too.
_SEQUENCES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b[\]PX^_]|[\x9d\x90\x98\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]?"
)
# C0 controls but tab and newline, DEL and the C1 range; a carriage return not ending a line (it would let
# text overwrite what the line showed before it)
_CONTROLS = re.compile(r"\r(?!\n)|[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f-\x9f]")


def strip_control(text: str) -> str:
    """``text`` without terminal escape sequences and control characters (newlines and tabs are kept)."""
    if text.isprintable():
        return text  # the common case: nothing to do
    return _CONTROLS.sub("", _SEQUENCES.sub("", text))
