"""``DbtKickoffOperator``: run a dbt Core package with :func:`dbt_kickoff.package` inside an Airflow task."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from airflow.sdk import Asset, AssetAlias, BaseOperator

import dbt_kickoff
from dbt_kickoff.core.invocations import selector_args
from dbt_kickoff.errors import ConfigurationError, DbtCancelled, DBTProcessingError
from dbt_kickoff.integrations.airflow.assets import built_relations
from dbt_kickoff.integrations.airflow.connections import connection_destination
from dbt_kickoff.integrations.airflow.results import compact_results
from dbt_kickoff.profiles import resolve_destination
from dbt_kickoff.results import NodeResult

COMMANDS = ("run_all", "build", "run", "test", "seed", "snapshot", "source_freshness", "deps")
SELECTING_COMMANDS = frozenset({"build", "run", "test", "seed", "snapshot", "source_freshness"})
FULL_REFRESH_COMMANDS = frozenset({"run_all", "build", "run", "seed"})
XCOM_RESULTS_KEY = "dbt_results"


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigurationError(f"DbtKickoffOperator: {message}")


def _is_str_list(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, Sequence) and all(isinstance(v, str) for v in value))


class DbtKickoffOperator(BaseOperator):
    """Run a dbt package (a folder or a git URL) against an Airflow connection, with per-node results in XCom.

    ``conn_id``: an Airflow connection of a supported type (postgres, redshift, snowflake, google_cloud_platform,
    databricks, duckdb), fetched again for each dbt command so short-lived tokens stay fresh; or
    ``destination``: anything :func:`dbt_kickoff.package` accepts (``None``: the package's profiles.yml).
    ``command``: ``run_all`` (deps, seed, run, test), ``build``, ``run``, ``test``, ``seed``, ``snapshot``,
    ``source_freshness`` or ``deps``; ``select``/``exclude``: dbt selectors (not with ``run_all``); ``vars``:
    dbt vars (templated). ``emit_assets=True`` emits one Airflow asset per built model, seed or snapshot
    through the ``AssetAlias`` ``asset_alias`` (default ``dbt-kickoff:<task_id>``). ``package_options`` go to
    :func:`dbt_kickoff.package` as they are (``threads``, ``package_repository_token``, ``working_dir``...;
    ``records="s3://..."`` keeps run records and warm state on shared storage, so a task on a fresh worker
    restores dbt's parse state and installed packages instead of parsing everything and running ``dbt deps``);
    ``dbt_version`` runs dbt in a cached venv made by :func:`dbt_kickoff.get_venv`.

    XCom ``dbt_results`` (and the return value on success): one compact dict per node (see
    :func:`.results.compact_results`). Killing the task (``on_kill``) cancels the running dbt command.
    """

    template_fields: Sequence[str] = (
        "package_location", "package_repository_branch", "dataset_name", "source_dataset_name", "select",
        "exclude", "vars",
    )
    template_fields_renderers = {"vars": "json"}
    ui_color = "#ff694a"

    def __init__(
        self,
        *,
        package_location: str | os.PathLike[str],
        conn_id: str | None = None,
        destination: Any = None,
        command: str = "run_all",
        select: str | Sequence[str] | None = None,
        exclude: str | Sequence[str] | None = None,
        vars: Mapping[str, Any] | None = None,
        full_refresh: bool = False,
        dataset_name: str | None = None,
        source_dataset_name: str | None = None,
        package_repository_branch: str | None = None,
        dbt_version: str | None = None,
        emit_assets: bool = False,
        asset_alias: str | None = None,
        package_options: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        _check(isinstance(package_location, (str, os.PathLike)),
               f"package_location must be a folder or a git URL (a string), not {type(package_location).__name__}")
        _check(conn_id is None or isinstance(conn_id, str),
               f"conn_id must be the id of an Airflow connection (a string), not {type(conn_id).__name__}")
        _check(conn_id is None or destination is None, "give conn_id or destination, not both")
        _check(command in COMMANDS, f"command must be one of {', '.join(COMMANDS)}, not {command!r}")
        for name, value in (("select", select), ("exclude", exclude)):
            _check(value is None or _is_str_list(value), f"{name} must be a selector string or a list of them")
            _check(value is None or command in SELECTING_COMMANDS,
                   f"{name} does not apply to command {command!r}; use command='build' (or run/test...) to select")
        _check(vars is None or isinstance(vars, Mapping), f"vars must be a mapping, not {type(vars).__name__}")
        _check(not full_refresh or command in FULL_REFRESH_COMMANDS,
               f"full_refresh applies to {', '.join(sorted(FULL_REFRESH_COMMANDS))}, not {command!r}")
        _check(package_options is None or isinstance(package_options, Mapping), "package_options must be a mapping")
        self.alias = (asset_alias or f"dbt-kickoff:{kwargs.get('task_id')}") if emit_assets else None
        if self.alias:
            kwargs["outlets"] = [*(kwargs.get("outlets") or []), AssetAlias(name=self.alias)]
        super().__init__(**kwargs)
        self.package_location = os.fspath(package_location)
        self.conn_id = conn_id
        self.destination = destination
        self.command = command
        self.select = select
        self.exclude = exclude
        self.vars = dict(vars or {})
        self.full_refresh = full_refresh
        self.dataset_name = dataset_name
        self.source_dataset_name = source_dataset_name
        self.package_repository_branch = package_repository_branch
        self.dbt_version = dbt_version
        self.package_options = dict(package_options or {})
        self._runner: dbt_kickoff.PackageRunner | None = None

    def execute(self, context: Any) -> list[dict[str, Any]]:
        destination, first = self._destination()
        venv = dbt_kickoff.get_venv(first, dbt_version=self.dbt_version) if self.dbt_version else None
        runner = dbt_kickoff.package(
            destination,
            self.package_location,
            package_repository_branch=self.package_repository_branch or None,
            dataset_name=self.dataset_name or None,
            source_dataset_name=self.source_dataset_name or None,
            venv=venv,
            **self.package_options,
        )
        self._runner = runner
        try:
            with runner:
                results = self._run(runner)
        except (DBTProcessingError, DbtCancelled) as exc:
            partial = exc.run_results if isinstance(exc, DBTProcessingError) else exc.results
            self._publish(context, partial)
            raise
        finally:
            self._runner = None
        self._publish(context, results)
        if self.alias:
            self._emit_assets(context, runner, results, first)
        return compact_results(results)

    def on_kill(self) -> None:
        """Cancel the running dbt command (SIGINT, grace, kill); ``execute`` then raises ``DbtCancelled``."""
        runner = self._runner
        if runner is not None:
            self.log.info("task killed: cancelling dbt")
            runner.cancel()

    def _destination(self) -> tuple[Any, Any]:
        """What to pass as ``destination`` (a callable for a connection) and its value now (checked at once)."""
        if self.conn_id is None:
            return self.destination, self.destination() if callable(self.destination) else self.destination
        fetch: Callable[[], dict[str, Any]] = connection_destination(self.conn_id)
        return fetch, fetch()

    def _run(self, runner: dbt_kickoff.PackageRunner) -> list[NodeResult]:
        if self.command == "run_all":
            return runner.run_all(additional_vars=self.vars, full_refresh=self.full_refresh)
        if self.command == "deps":
            return runner.deps()
        params = selector_args(self.select, self.exclude)
        method = getattr(runner, self.command)
        if self.command in FULL_REFRESH_COMMANDS:
            return method(params, additional_vars=self.vars, full_refresh=self.full_refresh)
        return method(params, additional_vars=self.vars)

    def _publish(self, context: Any, results: list[NodeResult]) -> None:
        context["ti"].xcom_push(key=XCOM_RESULTS_KEY, value=compact_results(results))

    def _emit_assets(self, context: Any, runner: dbt_kickoff.PackageRunner, results: list[NodeResult],
                     destination: Any) -> None:
        profile = resolve_destination(destination)
        kind = profile.destination_type if profile else "dbt"
        manifest = runner.target_path() / "manifest.json"
        events = context["outlet_events"][AssetAlias(name=self.alias)]
        for relation in built_relations(manifest, results, kind):
            events.add(Asset(name=relation.name, uri=relation.uri), extra={"dbt_unique_id": relation.unique_id})
            self.log.info("asset %s", relation.uri)


