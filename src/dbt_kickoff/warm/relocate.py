"""Move dbt's parse state (``partial_parse.msgpack``) from one project folder to another.

dbt keeps two absolute paths in it: each file's ``project_root``, and each seed's ``root_path``, which
dbt-duckdb reads its CSV from (``COPY ... FROM '<root_path>/seeds/x.csv'``). A state parsed in ``/a/shop`` and
used unchanged in ``/b/shop`` would load ``/a``'s seeds, or fail where ``/a`` does not exist. Every other path in
it is relative, and dbt accepts the file whatever folder the project is in (it compares vars, profile, target,
dbt version, env vars of dbt_project.yml and every project's dbt_project.yml, then each file's checksum).

The file is msgpack: a string value is a length header and its bytes, and maps and arrays count their items, not
their bytes. So a string can be replaced where it stands without decoding the rest: only the values that follow
the keys ``root_path`` and ``project_root`` and equal the old folder (or lie below it) are rewritten.
"""

from __future__ import annotations

import re
import struct

_KEYS = re.compile(re.escape(b"\xa9root_path") + b"|" + re.escape(b"\xacproject_root"))
"""The two keys as msgpack writes them (fixstr headers of 9 and 12 bytes)."""


def _string_at(data: bytes, index: int) -> tuple[int, int] | None:
    """(start, length) of the msgpack string whose header is at ``index``, or ``None`` when none is there."""
    if index >= len(data):
        return None
    head = data[index]
    if 0xA0 <= head <= 0xBF:
        return index + 1, head & 0x1F
    if head == 0xD9 and index + 2 <= len(data):
        return index + 2, data[index + 1]
    if head == 0xDA and index + 3 <= len(data):
        return index + 3, struct.unpack_from(">H", data, index + 1)[0]
    if head == 0xDB and index + 5 <= len(data):
        return index + 5, struct.unpack_from(">I", data, index + 1)[0]
    return None


def _encoded(value: bytes) -> bytes:
    size = len(value)
    if size < 32:
        return bytes([0xA0 | size]) + value
    if size < 1 << 8:
        return b"\xd9" + bytes([size]) + value
    if size < 1 << 16:
        return b"\xda" + struct.pack(">H", size) + value
    return b"\xdb" + struct.pack(">I", size) + value


def relocate(state: bytes, old_dir: str, new_dir: str) -> tuple[bytes, int]:
    """``state`` with every ``root_path``/``project_root`` at or below ``old_dir`` moved below ``new_dir``, and
    how many values were rewritten."""
    if old_dir == new_dir:
        return state, 0
    old, new = old_dir.rstrip("/").encode(), new_dir.rstrip("/").encode()
    pieces: list[bytes] = []
    done = 0
    rewritten = 0
    for match in _KEYS.finditer(state):
        if match.start() < done:
            continue
        found = _string_at(state, match.end())
        if found is None:
            continue
        start, length = found
        value = state[start:start + length]
        if value == old or value.startswith(old + b"/"):
            pieces += [state[done:match.end()], _encoded(new + value[len(old):])]
            done = start + length
            rewritten += 1
    pieces.append(state[done:])
    return b"".join(pieces), rewritten
