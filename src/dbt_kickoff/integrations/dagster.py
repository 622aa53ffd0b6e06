"""Dagster: a resource that runs a dbt package with dbt-kickoff, and assets built from the package's manifest.

``pip install 'dbt-kickoff[dagster]'``::

    from dagster import Definitions, EnvVar
    from dbt_kickoff.integrations.dagster import DbtKickoffResource, dbt_kickoff_assets

    dbt = DbtKickoffResource(package_location="path/or/git/url", destination=EnvVar("WAREHOUSE_URL"),
                             records="s3://bucket/dbt-records")
    defs = Definitions(assets=[dbt_kickoff_assets(dbt.parse_manifest())], resources={"dbt_kickoff": dbt})

``DbtCloudKickoffResource`` (``resource_key="dbt_cloud_kickoff"``) builds the same assets with a dbt Cloud job
instead: each node is reported as the run's logs show it finished.

Loading the definitions does not start dbt when a manifest for the package's files as they are exists: the one
dbt wrote in the target folder, or the one any worker published to the run records store (``records``: a folder
or fsspec URL; warm state, on by default, also restores dbt's parse state and packages on a fresh worker).

Each model, seed and snapshot is an asset (its upstream nodes and dbt sources are its deps; sources are external
asset keys ``[source_name, table]``), each data test an asset check on the node it tests. One ``dbt build`` runs
the selected assets; every node is reported the moment dbt finishes it: a materialization, or a failed
materialization (the step fails with dbt's message for every failing node) and asset check results. A run that
Dagster terminates stops dbt (its queries are cancelled and the dbt process ends) before the step ends.
"""

import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    ConfigurableResource,
    Failure,
    MaterializeResult,
    multi_asset,
)

import dbt_kickoff
from dbt_kickoff.cloud import DbtCloud, DbtCloudRunFailed
from dbt_kickoff.engines import DbtEvent, EventHandler, NodeEvent
from dbt_kickoff.errors import DBTProcessingError
from dbt_kickoff.integrations.live import LiveCloudRun, LiveRun
from dbt_kickoff.integrations.manifest import BuiltNode, ManifestGraph, load_manifest, manifest_graph, selector
from dbt_kickoff.results import FAILURE_STATUSES
from dbt_kickoff.runner import PackageRunner

__all__ = ["DbtCloudKickoffResource", "DbtKickoffResource", "dbt_kickoff_assets", "dbt_kickoff_source_specs"]

PASSED = frozenset({"pass", "success"})
WARNED = frozenset({"warn"})


class DbtKickoffResource(ConfigurableResource):
    """Where the dbt package is, where it writes, and which dbt runs it.

    ``destination`` is a connection URL (``duckdb:///file.duckdb``, ``postgresql://user:pw@host/db``...); give it
    as ``EnvVar("...")`` so the password stays out of Dagster's config. ``None`` uses the package's own
    ``profiles.yml`` (``profiles_dir``, ``profile_name``, ``target``). ``dbt_version`` (or ``use_venv``) runs
    dbt from a cached virtual environment made by :func:`dbt_kickoff.get_venv`, else the dbt installed here.
    ``records`` (a folder or fsspec URL; ``None``: a folder of this machine) keeps run records and, with
    ``warm_state``, dbt's parse state, manifest and installed packages for every worker (``records_options``:
    fsspec storage options).
    """

    package_location: str
    destination: str | None = None
    dataset_name: str | None = None
    source_dataset_name: str | None = None
    package_repository_branch: str | None = None
    subdirectory: str | None = None
    profiles_dir: str | None = None
    profile_name: str | None = None
    target: str | None = None
    dbt_version: str | None = None
    use_venv: bool = False
    threads: int | None = None
    command_timeout: float | None = None
    vars: dict[str, Any] | None = None
    records: str | None = None
    records_options: dict[str, Any] | None = None
    warm_state: bool = True

    def runner(self, on_event: EventHandler | None = None, warm_start: bool = True) -> PackageRunner:
        """A :class:`~dbt_kickoff.PackageRunner` for this package (close it, or use it in a ``with``);
        ``warm_start=False`` does not start dbt until a call needs it."""
        venv = dbt_kickoff.get_venv(self.destination, self.dbt_version) if self.use_venv or self.dbt_version else None
        return dbt_kickoff.package(
            self.destination,
            self.package_location,
            package_repository_branch=self.package_repository_branch,
            subdirectory=self.subdirectory,
            venv=venv,
            dataset_name=self.dataset_name,
            source_dataset_name=self.source_dataset_name,
            profiles_dir=self.profiles_dir,
            profile_name=self.profile_name,
            target=self.target,
            threads=self.threads,
            command_timeout=self.command_timeout,
            on_event=on_event,
            warm_start=warm_start,
            records=self.records,
            records_options=self.records_options,
            warm_state=self.warm_state,
        )

    def parse_manifest(self) -> dict[str, Any]:
        """The package's manifest for :func:`dbt_kickoff_assets`: the one dbt wrote for the package's files as
        they are (target folder or run records store), read without starting dbt; else ``dbt parse`` runs."""
        from dbt_kickoff.integrations.manifest import parse_manifest

        with self.runner(warm_start=False) as runner:
            return parse_manifest(runner, additional_vars=self.vars)

    def build(self, context: AssetExecutionContext, graph: ManifestGraph, *, key_prefix: Sequence[str] = (),
              command: str = "build", extra_args: Sequence[str] = ()) -> Iterator[MaterializeResult | AssetCheckResult]:
        """Run ``dbt <command>`` on the selected assets and yield their results as dbt finishes each node."""
        keys, selected, checks, tests, args = _selection(context, graph, key_prefix, extra_args)
        live = LiveRun(self.runner, lambda runner: _invoke(runner, command, args, self.vars))
        yield from _results(context, live.events(), selected, keys, tests, checks)
        try:
            live.outcome()
        except DBTProcessingError as exc:
            failed = {r.unique_id: r.message or r.status for r in exc.failed_nodes}
            raise Failure(description=str(exc), metadata={"failed nodes": failed}) from exc


class DbtCloudKickoffResource(ConfigurableResource):
    """A dbt Cloud job that builds the package's assets: ``dbt_kickoff_assets(manifest,
    resource_key="dbt_cloud_kickoff")`` materializes them by running the job (only the selected nodes, through
    ``steps_override``, when a subset is materialized) and reports each node as the run's logs show it finished.

    ``api_token`` (give it as ``EnvVar("DBT_CLOUD_API_TOKEN")``), ``account_id``, ``job_id``, ``base_url`` (the
    account's access URL). ``fail_fast`` cancels the run at its first failing node; ``records`` is where its run
    record goes (``None``: the state folder; ``no_records=True``: none).
    Terminating the Dagster run cancels the dbt Cloud run.
    """

    api_token: str
    account_id: int
    job_id: int
    base_url: str = "https://cloud.getdbt.com"
    poll_interval: float = 10.0
    timeout: float | None = None
    fail_fast: bool = False
    records: str | None = None
    no_records: bool = False
    state_dir: str | None = None

    def cloud(self) -> DbtCloud:
        """A :class:`~dbt_kickoff.cloud.DbtCloud` for the account (close it, or use it in a ``with``)."""
        records: str | bool | None = False if self.no_records else self.records
        return DbtCloud({"api_token": self.api_token, "account_id": self.account_id, "job_id": self.job_id,
                         "base_url": self.base_url}, state_dir=self.state_dir, records=records)

    def fetch_manifest(self) -> dict[str, Any]:
        """The manifest of the job's latest successful run (for :func:`dbt_kickoff_assets`)."""
        with self.cloud() as cloud:
            return load_manifest(json.loads(cloud.client.get_job_artifact(self.job_id, "manifest.json")))

    def build(self, context: AssetExecutionContext, graph: ManifestGraph, *, key_prefix: Sequence[str] = (),
              command: str = "build", extra_args: Sequence[str] = ()) -> Iterator[MaterializeResult | AssetCheckResult]:
        """Run the job (``dbt <command>`` on the selected assets when a subset is selected) and yield their results
        as the run's logs show each node finished."""
        keys, selected, checks, tests, args = _selection(context, graph, key_prefix, extra_args)
        data = {"steps_override": [" ".join(["dbt", command, *args])]} if args else None
        key = f"dagster:{context.run.run_id}:{context.op_execution_context.op.name}"
        live = LiveCloudRun(self.cloud, self.job_id, data, idempotency_key=key, poll_interval=self.poll_interval,
                            timeout=self.timeout, fail_fast=self.fail_fast)
        yield from _results(context, live.events(), selected, keys, tests, checks)
        try:
            live.outcome()
        except DbtCloudRunFailed as exc:
            raise Failure(description=str(exc), metadata={"dbt Cloud run": exc.run.get("href") or exc.run_id}) \
                from exc


def _selection(context: AssetExecutionContext, graph: ManifestGraph, key_prefix: Sequence[str],
               extra_args: Sequence[str]) -> tuple[dict[str, AssetKey], set[str], set[tuple[AssetKey, str]],
                                                   dict[str, tuple[AssetKey, Any]], list[str]]:
    """What a materialization selected: the nodes' keys, the selected nodes, checks and tests, and the dbt
    arguments that select them (with ``extra_args``)."""
    nodes = graph.by_id()
    keys = {uid: _asset_key(node, key_prefix) for uid, node in nodes.items()}
    selected = {uid for uid, key in keys.items() if key in context.selected_asset_keys}
    checks = {(check.asset_key, check.name) for check in context.selected_asset_check_keys}
    tests = {test.unique_id: (keys[uid], test) for uid, node in nodes.items() for test in node.tests}
    args = list(extra_args)
    if context.is_subset:  # the selected nodes (their tests come along) and the tests selected on their own
        chosen = [selector(nodes[uid]) for uid in sorted(selected)]
        chosen += [selector(test) for key, test in tests.values() if (key, test.name) in checks
                   and key not in context.selected_asset_keys]
        args += ["--select", *chosen]
    return keys, selected, checks, tests, args


def _results(context: AssetExecutionContext, events: Iterator[DbtEvent], selected: set[str],
             keys: Mapping[str, AssetKey], tests: Mapping[str, tuple[AssetKey, Any]],
             checks: set[tuple[AssetKey, str]]) -> Iterator[MaterializeResult | AssetCheckResult]:
    """A materialization or an asset check result per node as dbt (Core or Cloud) reports it finished."""
    for event in events:
        node = event.node
        if not event.finished or node is None:
            continue
        if node.status in FAILURE_STATUSES:
            context.log.error(f"dbt {node.resource_type} {node.name} [{node.status}]: {node.message or ''}")
        if node.unique_id in selected and node.status == "success":
            yield MaterializeResult(asset_key=keys[node.unique_id], metadata=_metadata(node))
        elif node.unique_id in tests and node.status != "skipped":
            asset_key, test = tests[node.unique_id]
            if (asset_key, test.name) in checks:
                yield _check_result(asset_key, test.name, node)


def _invoke(runner: PackageRunner, command: str, args: Sequence[str],
            variables: Mapping[str, Any] | None) -> list[dbt_kickoff.NodeResult]:
    with runner:
        if command in ("build", "run", "seed", "snapshot", "test"):
            return getattr(runner, command)(list(args), additional_vars=variables)
        return runner.invoke([command, *args], additional_vars=variables)


def _metadata(node: NodeEvent) -> dict[str, Any]:
    data: dict[str, Any] = {"dbt unique_id": node.unique_id, "dbt status": node.status}
    if node.execution_time is not None:
        data["execution time (s)"] = round(node.execution_time, 3)
    if node.message:
        data["dbt message"] = node.message
    return data


def _check_result(asset_key: AssetKey, name: str, node: NodeEvent) -> AssetCheckResult:
    return AssetCheckResult(
        asset_key=asset_key,
        check_name=name,
        passed=node.status in PASSED,
        severity=AssetCheckSeverity.WARN if node.status in WARNED else AssetCheckSeverity.ERROR,
        description=node.message,
        metadata=_metadata(node),
    )


def _asset_key(node: BuiltNode, key_prefix: Sequence[str]) -> AssetKey:
    return AssetKey([*key_prefix, node.name])


def source_key(source_name: str, table: str) -> AssetKey:
    """The asset key of a dbt source table: ``[source_name, table]``."""
    return AssetKey([source_name, table])


def dbt_kickoff_source_specs(manifest: Mapping[str, Any] | str | Path) -> list[AssetSpec]:
    """External asset specs for the package's dbt sources (to show them, and what loads them, in Dagster)."""
    graph = manifest_graph(load_manifest(manifest))
    return [
        AssetSpec(source_key(s.source_name, s.name), description=s.description or None,
                  metadata={"dbt unique_id": s.unique_id})
        for s in graph.sources
    ]


def dbt_kickoff_assets(
    manifest: Mapping[str, Any] | str | Path,
    *,
    name: str = "dbt_kickoff",
    resource_key: str = "dbt_kickoff",
    command: str = "build",
    extra_args: Sequence[str] = (),
    key_prefix: Sequence[str] = (),
    group_name: str | None = None,
    op_tags: Mapping[str, Any] | None = None,
) -> AssetsDefinition:
    """A multi-asset over the package's models, seeds and snapshots, with its data tests as asset checks.

    ``manifest``: the parsed manifest (``DbtKickoffResource.parse_manifest()``) or a ``manifest.json`` path.
    Materializing runs ``dbt <command>`` (``build`` by default) through the resource named ``resource_key``,
    on only the selected assets when a subset is materialized.
    """
    graph = manifest_graph(load_manifest(manifest))
    nodes = graph.by_id()
    sources = {s.unique_id: s for s in graph.sources}

    def dep_key(uid: str) -> AssetKey:
        if uid in nodes:
            return _asset_key(nodes[uid], key_prefix)
        return source_key(sources[uid].source_name, sources[uid].name)

    specs = [
        AssetSpec(
            _asset_key(node, key_prefix),
            deps=[dep_key(uid) for uid in node.upstream],
            description=node.description or None,
            group_name=group_name,
            skippable=True,  # a node dbt skips (its upstream failed) is not materialized
            metadata={"dbt unique_id": node.unique_id, "dbt resource type": node.resource_type},
            kinds={"dbt"},
        )
        for node in graph.nodes
    ]
    check_specs = [
        AssetCheckSpec(test.name, asset=_asset_key(node, key_prefix), description=test.description or None)
        for node in graph.nodes
        for test in node.tests
    ]

    @multi_asset(
        name=name,
        specs=specs,
        check_specs=check_specs,
        can_subset=True,
        required_resource_keys={resource_key},
        op_tags=op_tags,
    )
    def _dbt_assets(context: AssetExecutionContext) -> Iterator[MaterializeResult | AssetCheckResult]:
        resource: DbtKickoffResource = getattr(context.resources, resource_key)
        yield from resource.build(context, graph, key_prefix=key_prefix, command=command, extra_args=extra_args)

    return _dbt_assets
