"""dbt's per-node log lines, read back: ``N of M START …``, ``N of M OK created …``, ``PASS``, ``WARN n``,
``FAIL n``, ``ERROR …``, ``SKIP relation …``, ``… freshness of …`` (dbt-core 1.x's shapes, console or debug log).

Pure functions: :func:`parse_line` turns one line into a :class:`NodeLine` (or ``None`` for any other line),
and :func:`node_key` names what a line speaks about the way a manifest or a ``run_results.json`` entry can be
named too (see :mod:`.node_index`), so the three can be matched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_FANCY = re.compile(
    r"(?:^|[\s:])(?P<index>\d+) of (?P<total>\d+) "
    r"(?P<body>(?:START|OK|PASS|WARN|FAIL|ERROR|SKIP)\b.*?)\s*\.*\s*"
    r"\[(?P<status>[^\[\]]*?)(?: in (?P<seconds>\d+(?:\.\d+)?)s)?\]\s*$"
)
_DONE = re.compile(r"Done\. PASS=\d+ .*\bTOTAL=(?P<total>\d+)")

# (pattern of the line's body, dbt status, resource type when the body does not say it)
_RESULTS: tuple[tuple[re.Pattern[str], str, str | None], ...] = tuple(
    (re.compile(pattern), status, kind)
    for pattern, status, kind in (
        (r"^START (?P<desc>.+)$", "started", None),
        (r"^OK created (?P<desc>.+)$", "success", None),
        (r"^ERROR creating (?P<desc>.+)$", "error", None),
        (r"^OK loaded seed file (?P<rel>\S+)$", "success", "seed"),
        (r"^ERROR loading seed file (?P<rel>\S+)$", "error", "seed"),
        (r"^OK snapshotted (?:snapshot )?(?P<rel>\S+)$", "success", "snapshot"),
        (r"^ERROR snapshotting (?:snapshot )?(?P<rel>\S+)$", "error", "snapshot"),
        (r"^SKIP relation (?P<rel>\S+)", "skipped", None),
        (r"^PASS freshness of (?P<src>\S+)$", "pass", "source"),
        (r"^WARN freshness of (?P<src>\S+)$", "warn", "source"),
        (r"^ERROR(?: STALE)? freshness of (?P<src>\S+)$", "error", "source"),
        (r"^PASS (?P<name>\S+)$", "pass", None),
        (r"^WARN \d+ (?P<name>\S+)$", "warn", None),
        (r"^FAIL \d+ (?P<name>\S+)$", "fail", None),
        (r"^ERROR (?P<name>\S+)$", "error", None),
        (r"^SKIP (?P<type>\S+) (?P<name>\S+)", "skipped", None),
    )
)
_DESCRIPTIONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), kind)
    for pattern, kind in (
        (r"^(?:(?:sql|python) )?(?:\S+ )?model (?P<rel>\S+)$", "model"),
        (r"^seed file (?P<rel>\S+)$", "seed"),
        (r"^snapshot (?P<rel>\S+)$", "snapshot"),
        (r"^freshness of (?P<src>\S+)$", "source"),
        (r"^(?P<type>test|unit_test) (?P<name>\S+)$", ""),
    )
)


@dataclass(frozen=True)
class NodeLine:
    """One node line of a dbt command: ``index`` of ``total`` ("N of M"), ``status`` (``"started"`` for a START
    line, else dbt's: ``success``, ``error``, ``pass``, ``warn``, ``fail``, ``skipped``), ``kind`` (the resource
    type when the line tells it), ``subject`` (``schema.relation`` for a relation, else the node's name),
    ``reported`` (what dbt put in brackets: ``SELECT 3``, ``ERROR``, ``FAIL 1``…), ``seconds`` and ``text``
    (the line from ``N of M`` on)."""

    index: int
    total: int
    status: str
    kind: str | None
    subject: str
    relation: bool
    reported: str
    seconds: float | None
    text: str

    @property
    def started(self) -> bool:
        return self.status == "started"

    @property
    def key(self) -> str:
        return node_key(self.kind, self.subject, relation=self.relation)


def clean(line: str) -> str:
    """The line without terminal colour codes."""
    return _ANSI.sub("", line)


def parse_line(line: str) -> NodeLine | None:
    """The node line ``line`` is, or ``None`` (any other line, a hook's line included)."""
    match = _FANCY.search(clean(line))
    if match is None:
        return None
    body = match.group("body")
    if " hook: " in f" {body} ":
        return None
    for pattern, status, kind in _RESULTS:
        found = pattern.match(body)
        if found is None:
            continue
        parts = found.groupdict()
        what_kind, subject, relation = _subject(parts, kind)
        if subject is None:
            return None
        seconds = match.group("seconds")
        return NodeLine(
            index=int(match.group("index")),
            total=int(match.group("total")),
            status=status,
            kind=what_kind,
            subject=subject,
            relation=relation,
            reported=match.group("status").strip(),
            seconds=float(seconds) if seconds is not None else None,
            text=clean(line)[match.start("index"):].strip(),
        )
    return None


def _subject(parts: dict[str, str | None], kind: str | None) -> tuple[str | None, str | None, bool]:
    """``(kind, subject, is_relation)`` from the named parts of a body pattern."""
    if parts.get("desc"):
        return _describe(str(parts["desc"]))
    if parts.get("rel"):
        return kind, _bare(str(parts["rel"])), True
    if parts.get("src"):
        return "source", _bare(str(parts["src"])), False
    if parts.get("name"):
        declared = parts.get("type")
        return (declared if declared in ("test", "unit_test", "source") else kind or "test"), parts["name"], False
    return None, None, False


def _describe(description: str) -> tuple[str | None, str | None, bool]:
    for pattern, kind in _DESCRIPTIONS:
        found = pattern.match(description)
        if found is None:
            continue
        parts = found.groupdict()
        if parts.get("rel"):
            return kind, _bare(str(parts["rel"])), True
        if parts.get("src"):
            return kind, _bare(str(parts["src"])), False
        return str(parts["type"]), str(parts["name"]), False
    words = description.split()
    return (words[0], words[-1], False) if len(words) >= 2 else (None, None, False)


def _bare(name: str) -> str:
    return name.replace('"', "").replace("`", "")


def node_key(kind: str | None, subject: str, *, relation: bool) -> str:
    """How a line, a manifest node and a results entry are matched: a relation by its ``schema.alias`` (the
    database left out), a source by ``source.table``, anything else by its name."""
    subject = subject.lower()
    if relation:
        return "rel:" + ".".join(subject.split(".")[-2:])
    if kind == "source":
        return "src:" + subject
    return "name:" + subject


def done_total(line: str) -> int | None:
    """``TOTAL`` of dbt's closing ``Done. PASS=… TOTAL=n`` line, else ``None``."""
    match = _DONE.search(clean(line))
    return int(match.group("total")) if match else None
