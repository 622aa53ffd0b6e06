"""Which engine runs dbt for an environment, and the environment of the dbt process."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from dbt_kickoff.engines.base import Engine
from dbt_kickoff.environments import DbtEnvironment, current_environment
from dbt_kickoff.environments.drivers import driver_search_path
from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.processes import child_environment
from dbt_kickoff.redaction import Redactor


def dbt_process_env(environment: DbtEnvironment, extra: Mapping[str, str]) -> dict[str, str]:
    """The environment of the dbt process: the host's plus ``extra`` (secrets, DBT_*), without the host's
    Python path when dbt runs in another interpreter, and with the environment's ``drivers`` folder in front
    of ``ADBC_DRIVER_PATH`` (an inherited ``ADBC_DRIVER_PATH`` passes through). The host's ``os.environ`` is
    not changed."""
    env = child_environment(foreign_python=environment.python != current_environment().python)
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")  # offline is normal; no tracking calls
    env.update(driver_search_path(environment.drivers, env))
    env.update(extra)
    return env


def make_engine(
    environment: DbtEnvironment, *, cwd: Path, env: Mapping[str, str], redact: Redactor, cancel_grace: float = 10.0
) -> Engine:
    """The engine that fits ``environment``: the warm worker for a Python dbt, else a process per command."""
    process_env = dbt_process_env(environment, env)
    if environment.engine_factory is not None:
        engine: Engine = environment.engine_factory(cwd=cwd, env=process_env, redact=redact,
                                                    cancel_grace=cancel_grace)
        return engine
    if environment.engine == "worker":
        from dbt_kickoff.engines.worker import WorkerEngine  # each engine's module when it is used

        if environment.python is None:
            raise ConfigurationError(f"{environment.description}: the worker engine needs a Python interpreter")
        return WorkerEngine(
            environment.python, cwd=cwd, env=process_env, redact=redact, description=environment.description,
            cancel_grace=cancel_grace,
        )
    if environment.dbt_executable is None:
        raise ConfigurationError(f"{environment.description}: the subprocess engine needs a dbt executable")
    from dbt_kickoff.engines.subprocess_engine import SubprocessEngine
    return SubprocessEngine(
        environment.dbt_executable, cwd=cwd, env=process_env, exit_codes=environment.exit_codes, redact=redact,
        cancel_grace=cancel_grace,
    )
