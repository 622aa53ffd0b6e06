"""TEST ONLY: a fake dbt engine, scripted per test, for the fast tier.

It plugs into the runner through the public seam ``DbtEnvironment(engine_factory=...)`` and behaves like dbt
1.11 as far as the runner can see: it reads the command, its ``--select``/``--exclude``/``--state``/
``--fail-fast`` options and the target folder from the :class:`~dbt_kickoff.engines.Invocation`, streams the
JSON log records dbt writes (``NodeStart``/``NodeFinished`` with ``node_info`` and ``run_result``,
``PrintEvent`` lines for ``dbt ls``, ``NoNodesForSelectionCriteria``...) through the same conversion the
subprocess engine uses, and writes ``manifest.json``, ``run_results.json`` and (``source freshness``)
``sources.json`` with a fresh invocation id, in the shapes dbt writes them.

Its project is the test package ``tests/projects/shop`` (a seed, three models, five data tests, one source
with freshness): ``tests/fake_artifacts/`` holds the artifacts a real ``dbt build`` / ``dbt source freshness``
(dbt-core 1.11.16, dbt-duckdb) wrote for it, trimmed (no macros, no absolute paths that matter); they are the
templates of everything the fake writes. Node checksums are taken from the package's files on disk, so
editing a model's SQL changes it for ``state:modified`` as in dbt.

A test scripts it: ``fake.fail("stg_orders")`` (nodes that fail; what is downstream is skipped from the
manifest's ``depends_on``), ``fake.block("revenue_by_country")`` (the command waits at that node until it is
cancelled), ``fake.loaded_at`` (what ``source freshness`` measures); ``fake.commands`` is what ran.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import shutil
import threading
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from dbt_kickoff.engines import DbtEvent, EventHandler, Invocation, InvocationOutcome
from dbt_kickoff.engines.base import OutcomeCollector, event_from_wire, wire_from_json_log
from dbt_kickoff.environments import DbtEnvironment

ARTIFACTS = Path(__file__).with_name("fake_artifacts")
SHOP_PACKAGE = Path(__file__).with_name("projects") / "shop"
SOURCES_WITH_FRESHNESS = (
    "      - name: orders\n        loaded_at_field: cast(created_at as timestamp)\n"
    "        freshness: {warn_after: {count: 1000, period: day}}\n"
)
"""The ``orders`` source as the fixture artifacts were made (``models/sources.yml`` of the package copy)."""

RERUN_STATUSES = frozenset({"error", "fail", "skipped", "runtime error"})
EXECUTED_TYPES = {
    "run": {"model"},
    "seed": {"seed"},
    "test": {"test", "unit_test"},
    "snapshot": {"snapshot"},
    "build": {"seed", "model", "snapshot", "test", "unit_test"},
    "compile": {"model", "test", "snapshot", "seed"},
}
LISTED_TYPES = {"model", "seed", "snapshot", "test", "unit_test", "source"}
SUCCESS = {"model": ("success", "OK"), "snapshot": ("success", "OK"), "seed": ("success", "INSERT 3"),
           "test": ("pass", None), "unit_test": ("pass", None)}
BLOCK_TIMEOUT = 60.0


def shop_package(folder: Path) -> Path:
    """A copy of the test package the fake's artifacts describe (its ``orders`` source has freshness)."""
    project = Path(shutil.copytree(SHOP_PACKAGE, folder))
    sources = project / "models" / "sources.yml"
    sources.write_text(sources.read_text().replace("      - name: orders\n", SOURCES_WITH_FRESHNESS))
    return project


def _load(name: str) -> dict[str, Any]:
    return dict(json.loads((ARTIFACTS / name).read_text(encoding="utf-8")))


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Command:
    """One command the fake ran: its name (``"run"``, ``"source freshness"``), full arguments, and the unique
    ids it executed (or listed), in order."""

    name: str
    args: list[str]
    nodes: list[str] = field(default_factory=list)

    def option(self, flag: str) -> list[str]:
        return _option(self.args, flag)


class FakeDbt:
    """The script of one test and the log of what ran; makes :class:`FakeEngine` instances for the runner."""

    def __init__(self, dbt_version: str | None = None) -> None:
        self.template = _load("shop_manifest.json")
        self.result_templates = {e["unique_id"]: e for e in _load("shop_run_results.json")["results"]}
        self.sources_template = _load("shop_sources.json")
        self.dbt_version = dbt_version or str(self.template["metadata"]["dbt_version"])
        self.failures: dict[str, tuple[str, int | None]] = {}
        self.blocked: set[str] = set()
        self.loaded_at: dict[str, str] = {e["unique_id"]: e["max_loaded_at"] for e in self.sources_template["results"]}
        self.commands: list[Command] = []
        self.engines: list[FakeEngine] = []
        self._lock = threading.Lock()

    # -- the script ---------------------------------------------------------------------------------------------
    def unique_id(self, name: str) -> str:
        """A node's unique id from its unique id or name."""
        nodes = {**self.template["nodes"], **self.template["sources"]}
        if name in nodes:
            return name
        found = [uid for uid, node in nodes.items() if node["name"] == name]
        assert len(found) == 1, f"the fake project has no single node named {name!r}"
        return found[0]

    def fail(self, name: str, message: str | None = None, failures: int = 2) -> None:
        """Make a node fail from now on: a model or seed with ``error`` (dbt's runtime error text by default),
        a test with ``fail`` and ``failures`` rows."""
        uid = self.unique_id(name)
        node = self.template["nodes"][uid]
        if node["resource_type"] in ("test", "unit_test"):
            text = message or f"Got {failures} results, configured to fail if != 0"
            self.failures[uid] = (text, failures)
        else:
            text = message or (f"Runtime Error in {node['resource_type']} {node['name']} ({node['original_file_path']})"
                               "\n  Catalog Error: Table with name no_such_table does not exist!")
            self.failures[uid] = (text, None)

    def heal(self, name: str) -> None:
        self.failures.pop(self.unique_id(name), None)

    def block(self, name: str) -> None:
        """Commands wait at this node (started, not finished) until they are cancelled."""
        self.blocked.add(self.unique_id(name))

    def unblock(self, name: str) -> None:
        self.blocked.discard(self.unique_id(name))

    # -- what the runner plugs in ------------------------------------------------------------------------------
    def environment(self) -> DbtEnvironment:
        """The environment to pass as ``venv=``: a warm worker engine (it keeps a parsed manifest)."""
        return DbtEnvironment(python=None, engine="worker", description="fake dbt (tests)",
                              engine_factory=self.engine)

    def engine(self, *, cwd: Path, env: Mapping[str, str], redact: Any, cancel_grace: float) -> FakeEngine:
        made = FakeEngine(self, cwd)
        with self._lock:
            self.engines.append(made)
        return made

    # -- what ran -----------------------------------------------------------------------------------------------
    @property
    def command_names(self) -> list[str]:
        return [c.name for c in self.commands]

    def ran(self, command: Command) -> None:
        with self._lock:
            self.commands.append(command)

    def manifest(self, project_dir: Path, invocation_id: str) -> dict[str, Any]:
        """The manifest dbt would write now: the template with the package's files as they are."""
        manifest = copy.deepcopy(self.template)
        manifest["metadata"].update(invocation_id=invocation_id, generated_at=_now(),
                                    invocation_started_at=_now())
        for node in manifest["nodes"].values():
            path = project_dir / node["original_file_path"]
            if node["checksum"]["name"] == "sha256" and path.is_file():
                text = path.read_text(encoding="utf-8")
                node["checksum"]["checksum"] = hashlib.sha256(text.encode()).hexdigest()
                if node["resource_type"] != "seed":
                    node["raw_code"] = text
            if "root_path" in node:  # seeds carry their project's folder
                node["root_path"] = str(project_dir)
        return manifest


class FakeEngine:
    """One runner's engine (see :class:`dbt_kickoff.engines.Engine`); everything it does goes to its FakeDbt."""

    keeps_manifest = True

    def __init__(self, fake: FakeDbt, cwd: Path) -> None:
        self.fake = fake
        self.cwd = cwd
        self.dbt_version: str | None = None
        self.commands_run = 0
        self.started = False
        self.closed = False
        self._manifest_key: str | None = None
        self._cancelled = threading.Event()
        self._cancel_reason: str | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        self.started = True
        self.dbt_version = self.fake.dbt_version

    def close(self) -> None:
        self.cancel("the runner was closed")
        self.closed = True

    def cancel(self, reason: str = "cancelled") -> None:
        with self._lock:
            self._cancel_reason = self._cancel_reason or reason
        self._cancelled.set()

    def sources(self, invocation: Invocation, on_event: EventHandler) -> list[dict[str, Any]]:
        """``dbt parse``: writes the manifest, answers its sources."""
        self.start()
        self.commands_run += 1
        project_dir = _project_dir(invocation.args, self.cwd)
        manifest = self.fake.manifest(project_dir, str(uuid.uuid4()))
        if invocation.target_dir is not None:
            _write(invocation.target_dir / "manifest.json", manifest)
        self.fake.ran(Command("parse", list(invocation.parse_args or invocation.args)))
        return [{key: source.get(key) for key in ("unique_id", "source_name", "name", "schema", "identifier",
                                                  "database", "relation_name", "loaded_at_field", "loaded_at_query",
                                                  "freshness")}
                for source in manifest["sources"].values()]

    def execute(self, invocation: Invocation, on_event: EventHandler) -> InvocationOutcome:
        self.start()
        with self._lock:
            self._cancelled.clear()
            self._cancel_reason = None
        started = time.monotonic()
        collector = OutcomeCollector(on_event)
        parsed = invocation.manifest_key is None or invocation.manifest_key != self._manifest_key
        self._manifest_key = invocation.manifest_key
        token = invocation.cancel_token
        listening = token.listening(self.cancel) if token is not None else contextlib.nullcontext()
        with listening:
            run = Run(self, invocation, collector)
            success, error = run.go()
        self.commands_run += 1
        return collector.outcome(success, error, time.monotonic() - started, invocation_id=run.invocation_id,
                                 parsed=parsed, cancelled=self._cancel_reason if run.stopped else None)

    def wait_for_cancel(self) -> bool:
        return self._cancelled.wait(BLOCK_TIMEOUT)

    @property
    def cancel_requested(self) -> bool:
        """A cancel came for the command running now (or before it began)."""
        return self._cancelled.is_set()


class Run:
    """One command: select, execute in DAG order, stream events, write the artifacts."""

    def __init__(self, engine: FakeEngine, invocation: Invocation, collector: OutcomeCollector) -> None:
        self.engine = engine
        self.fake = engine.fake
        self.args = [str(a) for a in invocation.args]
        self.name = "source freshness" if self.args[:2] == ["source", "freshness"] else self.args[0]
        self.target = invocation.target_dir or _project_dir(self.args, engine.cwd) / "target"
        self.project_dir = _project_dir(self.args, engine.cwd)
        self.collector = collector
        self.invocation_id = str(uuid.uuid4())
        self.invocation_started_at = _now()
        self.stopped = False
        self.manifest = self.fake.manifest(self.project_dir, self.invocation_id)
        self.command = Command(self.name, self.args)

    # -- events ---------------------------------------------------------------------------------------------------
    def emit(self, name: str, level: str, msg: str, data: Mapping[str, Any] | None = None) -> None:
        """One record of dbt's ``--log-format json`` output, through the subprocess engine's conversion."""
        record = {"info": {"name": name, "level": level, "msg": msg, "invocation_id": self.invocation_id,
                           "ts": _now(), "thread": "Thread-1 (worker)"},
                  "data": dict(data or {})}
        self._log(level, msg)
        event: DbtEvent = event_from_wire(wire_from_json_log(record))
        self.collector(event)

    def _log(self, level: str, msg: str) -> None:
        logs = self.project_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        with (logs / "dbt.log").open("a", encoding="utf-8") as log:
            log.write(f"{datetime.now():%H:%M:%S.%f} [{level:<5}] [Thread-1  ]: {msg}\n")

    def node_info(self, uid: str, status: str) -> dict[str, Any]:
        node = self._node(uid)
        return {"unique_id": uid, "node_name": node["name"], "resource_type": node["resource_type"],
                "node_status": status, "node_path": node.get("path"), "materialized":
                (node.get("config") or {}).get("materialized", ""), "node_started_at": _now()}

    # -- the command ------------------------------------------------------------------------------------------------
    def go(self) -> tuple[bool, str | None]:
        self.emit("MainReportVersion", "info", f"Running with dbt={self.fake.dbt_version}",
                  {"version": f"={self.fake.dbt_version}", "log_version": 3})
        try:
            if self.engine.cancel_requested:
                self.stopped = True
                return False, "KeyboardInterrupt"
            return self._go()
        finally:
            self.fake.ran(self.command)

    def _go(self) -> tuple[bool, str | None]:
        if self.name in ("deps", "clean", "debug"):
            return True, None
        if self.name == "parse":
            _write(self.target / "manifest.json", self.manifest)
            return True, None
        try:
            selected = self.select()
        except ValueError as exc:
            return False, f"fake dbt: {exc}"
        _write(self.target / "manifest.json", self.manifest)
        self.command.nodes = list(selected)
        if self.name in ("ls", "list"):
            self.list(selected)
            return True, None
        if self.name == "source freshness":
            return self.freshness(selected)
        if self.name not in EXECUTED_TYPES:
            return False, f"fake dbt: the command {self.name!r} is not scripted"
        if not selected:
            self.emit("NothingToDo", "warn", "Nothing to do. Try checking your model configs and model specification "
                                             "args")
        results = self.execute(selected)
        if self.stopped:
            return False, "KeyboardInterrupt"
        self.write_results(results)
        return not any(r["status"] in ("error", "fail", "runtime error") for r in results), None

    def select(self) -> list[str]:
        """The unique ids this command runs (or lists), in DAG order."""
        if self.name == "retry":
            return self._retry_selection()
        types = LISTED_TYPES if self.name in ("ls", "list") else {"source"} if self.name == "source freshness" \
            else EXECUTED_TYPES.get(self.name, set())
        everything = {uid for uid in self._all_nodes() if self._node(uid)["resource_type"] in types}
        selectors = _option(self.args, "--select") or _option(self.args, "-s") or _option(self.args, "--models")
        chosen = set(everything)
        if selectors:
            chosen = set()
            for selector in selectors:
                found = self._pick(selector)
                if not found & everything:
                    self.emit("NoNodesForSelectionCriteria", "warn",
                              f"The selection criterion '{selector}' does not match any enabled nodes")
                chosen |= found
            if types & {"test", "unit_test"}:  # eager indirect selection: the tests of what was picked
                chosen |= {uid for uid in everything if set(self._parents(uid)) & chosen
                           and self._node(uid)["resource_type"] in ("test", "unit_test")}
        for selector in _option(self.args, "--exclude"):
            chosen -= self._pick(selector)
        return self._dag_order(chosen & everything)

    def _retry_selection(self) -> list[str]:
        previous = json.loads((Path(_option(self.args, "--state")[0]) / "run_results.json").read_text())
        self.name = str(previous["args"]["which"])
        self.command.name = "retry"
        return self._dag_order({e["unique_id"] for e in previous["results"] if e["status"] in RERUN_STATUSES})

    def _pick(self, selector: str) -> set[str]:
        """The nodes one selector names: ``name``, ``+name``, ``name+``, ``source:src.table[+]``,
        ``result:<status>[+]`` and ``state:modified[+]`` (both need ``--state``), ``fqn:a.b.name`` and
        ``resource_type:model``, and intersections of them (``a,b``)."""
        if "," in selector:
            parts = [self._pick(part) for part in selector.split(",")]
            return set.intersection(*parts)
        up, down = selector.startswith("+"), selector.endswith("+")
        core = selector.strip("+")
        method, _, value = core.partition(":") if ":" in core else ("name", "", core)
        if method == "name":
            starts = {uid for uid in self._all_nodes() if self._node(uid)["name"] == value}
        elif method == "fqn":
            starts = {uid for uid in self._all_nodes() if self._node(uid)["name"] == value
                      or ".".join(self._node(uid).get("fqn") or ()) == value}
        elif method == "resource_type":
            starts = {uid for uid in self._all_nodes() if self._node(uid)["resource_type"] == value}
        elif method == "source":
            starts = {uid for uid, s in self.manifest["sources"].items() if f"{s['source_name']}.{s['name']}" == value
                      or s["source_name"] == value}
        elif method == "result":
            starts = {e["unique_id"] for e in self._state_file("run_results.json").get("results", ())
                      if e.get("status") == value}
        elif method == "state" and value == "modified":
            old = self._state_file("manifest.json").get("nodes", {})
            starts = {uid for uid, node in self.manifest["nodes"].items()
                      if uid not in old or old[uid]["checksum"] != node["checksum"]}
        else:
            raise ValueError(f"the selector {selector!r} is not scripted")
        picked = set(starts)
        if down:
            picked |= self._descendants(starts)
        if up:
            picked |= self._ancestors(starts)
        return picked

    def _state_file(self, name: str) -> dict[str, Any]:
        state = _option(self.args, "--state")
        if not state:
            raise ValueError("a state selector needs --state")
        path = Path(state[0]) / name
        return dict(json.loads(path.read_text())) if path.is_file() else {}

    def execute(self, order: Sequence[str]) -> list[dict[str, Any]]:
        fail_fast = "--fail-fast" in self.args or "-x" in self.args
        broken: set[str] = set()
        results: list[dict[str, Any]] = []
        for index, uid in enumerate(order):
            upstream_broken = bool(self._blockers(uid, order) & broken)
            if fail_fast and broken:
                results += [self.fail_fast_skip(rest) for rest in order[index:]]
                break
            self.emit("NodeStart", "debug", f"Began running node {uid}", {"node_info": self.node_info(uid, "started")})
            if upstream_broken:
                status, message, failures = "skipped", None, None
            elif uid in self.fake.blocked:
                self.stopped = self.engine.wait_for_cancel()
                if self.stopped:
                    return results
                raise AssertionError(f"fake dbt: {uid} is blocked and nobody cancelled within {BLOCK_TIMEOUT}s")
            elif uid in self.fake.failures:
                message, failures = self.fake.failures[uid]
                status = "fail" if self._node(uid)["resource_type"] in ("test", "unit_test") else "error"
            else:
                status, message = SUCCESS[self._node(uid)["resource_type"]]
                failures = 0 if status == "pass" else None
            if status in ("error", "fail", "skipped"):
                broken.add(uid)
            entry = self.result(uid, status, message, failures)
            results.append(entry)
            self.emit("NodeFinished", "debug", f"Finished running node {uid}",
                      {"node_info": self.node_info(uid, status),
                       "run_result": {"status": status, "message": message or "", "execution_time":
                                      entry["execution_time"], "num_failures": failures or 0,
                                      "adapter_response": entry["adapter_response"]}})
            if status in ("error", "fail"):
                self.emit("RunResultError", "error", f"  {message}", {"msg": message})
        return results

    def result(self, uid: str, status: str, message: str | None, failures: int | None) -> dict[str, Any]:
        """A run_results.json entry, shaped like the one the real build wrote for this node."""
        entry = copy.deepcopy(self.fake.result_templates.get(uid) or {})
        ran = status != "skipped"
        entry.update(status=status, message=message, failures=failures, unique_id=uid,
                     thread_id="Thread-1 (worker)", execution_time=0.01 if ran else 0,
                     timing=[{"name": step, "started_at": _now(), "completed_at": _now()}
                             for step in ("compile", "execute")] if ran else [],
                     adapter_response=entry.get("adapter_response", {}) if status in ("success", "pass") else {},
                     compiled=ran, batch_results=None)
        if not ran:
            entry["compiled_code"] = None
        return entry

    def fail_fast_skip(self, uid: str) -> dict[str, Any]:
        entry = self.result(uid, "skipped", "Skipping due to fail_fast", None)
        entry["thread_id"] = "MainThread"
        return entry

    def write_results(self, results: list[dict[str, Any]]) -> None:
        template = _load("shop_run_results.json")
        template["metadata"].update(invocation_id=self.invocation_id, generated_at=_now(),
                                    invocation_started_at=self.invocation_started_at,
                                    dbt_version=self.fake.dbt_version)
        template["results"] = results
        template["elapsed_time"] = 0.01 * len(results)
        template["args"] = {"which": self.name, "select": _option(self.args, "--select"),
                            "exclude": _option(self.args, "--exclude"), "project_dir": str(self.project_dir),
                            "invocation_command": "dbt " + " ".join(self.args), "indirect_selection": "eager",
                            "vars": json.loads((_option(self.args, "--vars") or ["{}"])[0])}
        _write(self.target / "run_results.json", template)

    def list(self, selected: Iterable[str]) -> None:
        keys = _option(self.args, "--output-keys") or ["unique_id", "name", "resource_type"]
        for uid in sorted(selected):
            node = self._node(uid)
            shown = {key: node[key] for key in keys if key in node and not (key == "depends_on" and
                                                                             node["resource_type"] == "source")}
            self.emit("PrintEvent", "info", json.dumps(shown), {"msg": json.dumps(shown)})

    def freshness(self, selected: Sequence[str]) -> tuple[bool, str | None]:
        document = copy.deepcopy(self.fake.sources_template)
        document["metadata"].update(invocation_id=self.invocation_id, generated_at=_now(),
                                    invocation_started_at=self.invocation_started_at,
                                    dbt_version=self.fake.dbt_version)
        template = document["results"][0]
        document["results"] = []
        for uid in selected:
            self.emit("NodeStart", "debug", f"Began running node {uid}", {"node_info": self.node_info(uid, "started")})
            entry = {**copy.deepcopy(template), "unique_id": uid, "max_loaded_at": self.fake.loaded_at.get(uid),
                     "snapshotted_at": datetime.now(timezone.utc).isoformat(), "status": "pass"}
            document["results"].append(entry)
            self.emit("NodeFinished", "debug", f"Finished running node {uid}",
                      {"node_info": self.node_info(uid, "pass"), "run_result": {"status": "pass", "message": ""}})
        _write(self.target / "sources.json", document)
        return True, None

    # -- the graph ----------------------------------------------------------------------------------------------------
    def _all_nodes(self) -> dict[str, Any]:
        return {**self.manifest["nodes"], **self.manifest["sources"]}

    def _node(self, uid: str) -> dict[str, Any]:
        return dict(self._all_nodes()[uid])

    def _parents(self, uid: str) -> list[str]:
        return list((self._node(uid).get("depends_on") or {}).get("nodes") or ())

    def _children(self) -> dict[str, set[str]]:
        children: dict[str, set[str]] = {}
        for uid in self.manifest["nodes"]:
            for parent in self._parents(uid):
                children.setdefault(parent, set()).add(uid)
        return children

    def _descendants(self, starts: set[str]) -> set[str]:
        children, found, pending = self._children(), set(), list(starts)
        while pending:
            for child in children.get(pending.pop(), ()):
                if child not in found:
                    found.add(child)
                    pending.append(child)
        return found

    def _ancestors(self, starts: set[str]) -> set[str]:
        found, pending = set(), list(starts)
        while pending:
            for parent in self._parents(pending.pop()):
                if parent not in found:
                    found.add(parent)
                    pending.append(parent)
        return found

    def _blockers(self, uid: str, chosen: Iterable[str]) -> set[str]:
        """What runs before ``uid`` and must succeed for it to run: its parents, and in ``build`` the tests of
        its executed parents (dbt's test edges)."""
        chosen = set(chosen)
        parents = set(self._parents(uid)) & chosen
        if self.name == "build" and self._node(uid)["resource_type"] not in ("test", "unit_test"):
            parents |= {t for t in chosen if t != uid and self._node(t)["resource_type"] in ("test", "unit_test")
                        and set(self._parents(t)) & parents}
        return parents

    def _dag_order(self, chosen: set[str]) -> list[str]:
        order: list[str] = []
        pending = set(chosen)
        while pending:
            ready = sorted(uid for uid in pending if not (self._blockers(uid, chosen) & pending))
            assert ready, "the fake manifest has a cycle"
            order += ready
            pending -= set(ready)
        return order


def _option(args: Sequence[str], flag: str) -> list[str]:
    """The values after ``flag`` up to the next option (``--select a b --state x`` -> ``["a", "b"]``)."""
    if flag not in args:
        return []
    values: list[str] = []
    for value in args[list(args).index(flag) + 1:]:
        if value.startswith("-"):
            break
        values.append(value)
    return values


def _project_dir(args: Sequence[str], cwd: Path) -> Path:
    given = _option(args, "--project-dir")
    return Path(given[0]) if given else cwd


def _write(path: Path, document: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document), encoding="utf-8")

