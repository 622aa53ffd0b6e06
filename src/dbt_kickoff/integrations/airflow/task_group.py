"""``DbtKickoffTaskGroup`` and ``DbtKickoffDag``: a dbt package rendered as Airflow tasks, one per node, built
by one producer task with one warm dbt process.

The tasks come from a stored manifest (:mod:`.manifest_source`): dbt does not run when the DAG file is parsed
(unless no manifest exists yet, once). Each node task waits in Airflow's triggerer for the producer's build to
reach its node (:mod:`.node_trigger`) and ends with the node's result in its log and XCom; dbt's dependencies
are the tasks' dependencies; the group's roots hang below the producer (``trigger_rule="always"``, so they wait
with it rather than after it), which also makes a clear of the producer with its downstream clear them all.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
from airflow.sdk import DAG, BaseOperator, TaskGroup

import dbt_kickoff
from dbt_kickoff.core.options import CORE_OPTIONS
from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.integrations.airflow.manifest_source import ManifestInput, render_plan
from dbt_kickoff.integrations.airflow.nodes import (
    DbtNodeOperator,
    DbtProducerOperator,
    GroupSpec,
    NodeSpec,
    Progress,
    RunnerSpec,
    default_progress_root,
)
from dbt_kickoff.integrations.airflow.plan import PRODUCER_TASK_ID, TEST_BEHAVIORS, RenderPlan, plan_render
from dbt_kickoff.integrations.airflow.producer import BuildSpec, build_arguments
from dbt_kickoff.validation import check as check_option
from dbt_kickoff.validation import unknown_option

PACKAGE_OPTIONS = frozenset(
    name for name in inspect.signature(dbt_kickoff.package).parameters
    if name not in {"destination", "package_location", "on_event", "venv", "warm_start"}
)
"""What ``**package_options`` may hold: :func:`dbt_kickoff.package`'s options."""
SOURCE_OPTIONS = ("package_repository_branch", "package_repository_ssh_key", "package_repository_token",
                  "subdirectory", "working_dir", "git_options", "allow_stale_package")


class DbtKickoffTaskGroup(TaskGroup):
    """A task group with one task per dbt node of a package, built by one producer task.

    ``package_location``: a folder or a git URL; ``conn_id``: the Airflow connection dbt writes with (or
    ``destination=``: anything :func:`dbt_kickoff.package` takes). ``select``/``exclude``/``selector``: dbt's
    selection (worked out on the manifest to render; passed to dbt for the build). ``test_behavior``:
    ``"after_each"`` (a test task after each node), ``"build"`` (tests inside the node's task) or ``"none"``.
    ``changed_only``: the producer builds only what changed since the last good run (the others report
    ``unchanged``). ``vars``: dbt vars; ``full_refresh``; ``dbt_version``: dbt in a cached venv.
    ``manifest``: a manifest (mapping or ``manifest.json`` path) to render from instead of the stored one.
    ``retry_downstream``: a node task that rebuilds its node (a retry, a clear) rebuilds what the group renders
    below it too. ``emit_assets``: Airflow assets (``dbt://<type>/<db>/<schema>/<table>``) for built relations.
    ``progress``: where the build's progress board lives (a folder or fsspec URL shared by workers and the
    triggerer; default: beside the run records, ``<records>/.airflow``). ``producer_args``/``node_args``:
    operator arguments for the producer / the node tasks (``retries``, ``pool``, ``queue``...).
    TaskGroup arguments (``tooltip``, ``default_args``, ``prefix_group_id``...) go to the group; everything else
    is a :func:`dbt_kickoff.package` option (``threads``, ``dataset_name``, ``records``, ``target``...).
    """

    def __init__(self, group_id: str = "dbt", *, package_location: str | os.PathLike[str], conn_id: str | None = None,
                 select: str | Sequence[str] | None = None, exclude: str | Sequence[str] | None = None,
                 test_behavior: str = "after_each", changed_only: bool = False, **kwargs: Any) -> None:
        group_kwargs, rest = _split(kwargs, _init_fields(TaskGroup))
        super().__init__(group_id=group_id, **group_kwargs)
        options = RenderOptions.checked("DbtKickoffTaskGroup", package_location=package_location, conn_id=conn_id,
                                        select=select, exclude=exclude, test_behavior=test_behavior,
                                        changed_only=changed_only, **rest)
        self.plan = options.plan()
        with self:
            self.tasks_by_id = options.render(self.plan, group=self.group_id or "", dag_id=self.dag.dag_id)


def DbtKickoffDag(  # named like the DAG it returns, as cosmos's DbtDag
    dag_id: str, *, package_location: str | os.PathLike[str], conn_id: str | None = None,
    select: str | Sequence[str] | None = None, exclude: str | Sequence[str] | None = None,
    test_behavior: str = "after_each", changed_only: bool = False, **kwargs: Any,
) -> DAG:
    """A DAG of one dbt package: :class:`DbtKickoffTaskGroup`'s tasks at the top level. DAG arguments
    (``schedule``, ``start_date``, ``catchup``, ``default_args``, ``tags``...) go to the DAG, the others as for
    the task group."""
    dag_kwargs, rest = _split(kwargs, _init_fields(DAG))
    options = RenderOptions.checked("DbtKickoffDag", package_location=package_location, conn_id=conn_id,
                                    select=select, exclude=exclude, test_behavior=test_behavior,
                                    changed_only=changed_only, **rest)
    plan = options.plan()
    with DAG(dag_id=dag_id, **dag_kwargs) as dag:
        options.render(plan, group="", dag_id=dag_id)
    return dag


@attrs.frozen
class RenderOptions:
    """The group's options, checked once when the DAG file is parsed (a bad one is a DAG import error)."""

    package_location: str
    conn_id: str | None
    destination: Any
    select: str | Sequence[str] | None
    exclude: str | Sequence[str] | None
    selector: str | None
    test_behavior: str
    changed_only: bool
    full_refresh: bool
    vars: Mapping[str, Any]
    manifest: ManifestInput
    dbt_version: str | None
    retry_downstream: bool
    emit_assets: bool
    progress: str | None
    progress_options: Mapping[str, Any]
    poll_interval: float
    producer_args: Mapping[str, Any]
    node_args: Mapping[str, Any]
    package_options: Mapping[str, Any]

    @classmethod
    def checked(cls, where: str, *, package_location: Any, conn_id: Any = None, destination: Any = None,
                select: Any = None, exclude: Any = None, selector: Any = None, test_behavior: Any = "after_each",
                changed_only: Any = False, full_refresh: Any = False, vars: Any = None, manifest: Any = None,
                dbt_version: Any = None, retry_downstream: Any = False, emit_assets: Any = True,
                progress: Any = None, progress_options: Any = None, poll_interval: Any = 2.0,
                producer_args: Any = None, node_args: Any = None, **package_options: Any) -> RenderOptions:
        def check(condition: bool, message: str) -> None:
            if not condition:
                raise ConfigurationError(f"{where}: {message}")

        check(isinstance(package_location, (str, os.PathLike)),
              f"package_location must be a folder or a git URL (a string), not {type(package_location).__name__}")
        check(conn_id is None or isinstance(conn_id, str),
              f"conn_id must be the id of an Airflow connection (a string), not {type(conn_id).__name__}")
        check(conn_id is None or destination is None, "give conn_id or destination, not both")
        for name, value in (("select", select), ("exclude", exclude)):
            check(value is None or isinstance(value, str) or
                  (isinstance(value, Sequence) and all(isinstance(v, str) for v in value)),
                  f"{name} must be a dbt selector (a string) or a list of them, not {type(value).__name__}")
        check(selector is None or isinstance(selector, str), "selector must be the name of a YAML selector")
        check(test_behavior in TEST_BEHAVIORS,
              f"test_behavior must be one of {', '.join(map(repr, TEST_BEHAVIORS))}, not {test_behavior!r}")
        for name, value in (("changed_only", changed_only), ("full_refresh", full_refresh),
                            ("retry_downstream", retry_downstream), ("emit_assets", emit_assets)):
            check(isinstance(value, bool), f"{name} must be True or False, not {value!r}")
        check(not (changed_only and (select or selector)),
              "changed_only=True chooses the nodes itself: drop select/selector (exclude is fine)")
        check(vars is None or isinstance(vars, Mapping), f"vars must be a mapping, not {type(vars).__name__}")
        check(isinstance(poll_interval, (int, float)) and not isinstance(poll_interval, bool) and poll_interval > 0,
              f"poll_interval must be a number of seconds > 0, not {poll_interval!r}")
        for name, value in (("producer_args", producer_args), ("node_args", node_args),
                            ("progress_options", progress_options)):
            check(value is None or isinstance(value, Mapping), f"{name} must be a mapping")
        for name, value in package_options.items():
            if name not in PACKAGE_OPTIONS:
                raise unknown_option(where, name, [*PACKAGE_OPTIONS, *_OWN_OPTIONS])
            if name in CORE_OPTIONS:  # the specs package() checks with, now rather than when the task runs
                check_option(CORE_OPTIONS, name, value, where=where)
        check(package_options.get("records") is not False,
              "records=False: the node tasks and retries read the build's run records; keep records on")
        return cls(package_location=os.fspath(package_location), conn_id=conn_id, destination=destination,
                   select=select, exclude=exclude, selector=selector, test_behavior=test_behavior,
                   changed_only=changed_only, full_refresh=full_refresh, vars=dict(vars or {}), manifest=manifest,
                   dbt_version=dbt_version, retry_downstream=retry_downstream, emit_assets=emit_assets,
                   progress=None if progress is None else os.fspath(progress),
                   progress_options=dict(progress_options or package_options.get("records_options") or {}),
                   poll_interval=float(poll_interval), producer_args=dict(producer_args or {}),
                   node_args=dict(node_args or {}), package_options=dict(package_options))

    # -- what to render ---------------------------------------------------------------------------------------
    def runner_spec(self) -> RunnerSpec:
        return RunnerSpec(package_location=self.package_location, conn_id=self.conn_id,
                          destination=self.destination, dbt_version=self.dbt_version,
                          package_options=self.package_options)

    def plan(self) -> RenderPlan:
        """The tasks, from the stored manifest (dbt runs only when there is none)."""
        chosen = {"select": self.select, "exclude": self.exclude, "selector": self.selector,
                  "test_behavior": self.test_behavior}

        def make(manifest: Mapping[str, Any]) -> RenderPlan:
            return plan_render(manifest, select=self.select, exclude=self.exclude, selector=self.selector,
                               test_behavior=self.test_behavior)

        return render_plan(self._package_dir(), self.manifest, chosen, make, self._parse)

    def _package_dir(self) -> Path:
        local = Path(self.package_location).expanduser()
        subdirectory = self.package_options.get("subdirectory")
        if local.is_dir() and "#" not in self.package_location:
            return local / subdirectory if subdirectory else local
        source = {name: value for name, value in self.package_options.items() if name in SOURCE_OPTIONS}
        runner = dbt_kickoff.package(None, self.package_location, warm_start=False, records=False, **source)
        return runner.package_dir  # a git package: cloned once into the checkout cache

    def _parse(self) -> Path:
        with self.runner_spec().make(lambda event: None) as runner:
            runner.invoke(["parse"], additional_vars=self.vars or None)
            return runner.target_path()

    def render(self, plan: RenderPlan, *, group: str, dag_id: str) -> dict[str, BaseOperator]:
        """The producer and the node tasks, with dbt's dependencies, in the current DAG / task group."""
        records = self.package_options.get("records")
        spec = GroupSpec(
            runner=self.runner_spec(),
            progress=Progress(root=self.progress or default_progress_root(records),
                              storage_options=self.progress_options, group=group),
            lock_nodes=tuple(sorted(plan.node_ids)), vars=self.vars or None,
            asset_alias=f"dbt-kickoff:{dag_id}:{group or '_dag'}" if self.emit_assets else None,
        )
        producer = DbtProducerOperator(
            task_id=PRODUCER_TASK_ID, group=spec,
            spec=BuildSpec(args=build_arguments(self.select, self.exclude, self.selector, self.test_behavior),
                           changed_only=self.changed_only, full_refresh=self.full_refresh, vars=self.vars or None),
            **self.producer_args,
        )
        names_of = {uid: (task.name, task.resource_type) for task in plan.tasks for uid in task.unique_ids}
        tasks: dict[str, BaseOperator] = {PRODUCER_TASK_ID: producer}
        for planned in plan.tasks:
            node = NodeSpec(unique_ids=planned.unique_ids, selectors=planned.selectors,
                            names={uid: names_of[uid] for uid in planned.unique_ids}, primary=planned.primary,
                            relation=planned.relation, producer_task_id=producer.task_id,
                            retry_downstream=self.retry_downstream, poll_interval=self.poll_interval)
            tasks[planned.task_id] = DbtNodeOperator(task_id=planned.task_id, group=spec, node=node,
                                                     **self.node_args)
        for planned in plan.tasks:
            task = tasks[planned.task_id]
            if planned.upstream:
                _depends_on(task, [tasks[up] for up in planned.upstream])
            else:
                _depends_on(task, [producer])
                task.trigger_rule = "always"
        return tasks


def _depends_on(task: BaseOperator, upstream: Sequence[BaseOperator]) -> None:
    """``upstream >> task`` for tasks made in the same DAG just now: the id sets Airflow's ``set_upstream`` ends
    up updating, without its checks (which hash the whole DAG once per call: quadratic over a big package)."""
    if any(up.dag is not task.dag for up in upstream):
        task.set_upstream(list(upstream))
        return
    for up in upstream:
        task.upstream_task_ids.add(up.node_id)
        up.downstream_task_ids.add(task.node_id)


_OWN_OPTIONS = ("destination", "selector", "full_refresh", "vars", "manifest", "dbt_version", "retry_downstream",
                "emit_assets", "progress", "progress_options", "poll_interval", "producer_args", "node_args")


def _init_fields(cls: type) -> frozenset[str]:
    """The names a class built with attrs takes in ``__init__`` (TaskGroup's, DAG's)."""
    return frozenset(field.alias for field in attrs.fields(cls) if field.init)


def _split(kwargs: Mapping[str, Any], names: frozenset[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    mine = {key: value for key, value in kwargs.items() if key in names and key not in _OWN_OPTIONS}
    return mine, {key: value for key, value in kwargs.items() if key not in mine}
