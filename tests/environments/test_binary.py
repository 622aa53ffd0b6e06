"""dbt executables: version detection of v1 (real dbt) and v2 (a script printing what dbt Fusion prints).

The real v2 engine (installed by get_venv(dbt_version="fusion")) is run in tests/fusion/."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from dbt_kickoff.environments import resolve_environment
from dbt_kickoff.environments.binary import dbt_executable_environment, parse_version_output
from dbt_kickoff.errors import ConfigurationError, PrerequisitesException

pytestmark = pytest.mark.skipif(os.name != "posix", reason="writes executable shell scripts")


def _script(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.mark.parametrize(
    ("output", "version", "generation"),
    [
        ("dbt-fusion 2.0.0-preview.13\n", "2.0.0-preview.13", "v2"),
        ("dbt-fusion 2.0.0-beta.34", "2.0.0-beta.34", "v2"),
        ("dbt 2.1.0\n", "2.1.0", "v2"),
        (
            "Core:\n  - installed: 1.11.2\n  - latest:    1.12.6\n\nPlugins:\n  - duckdb: 1.11.1\n",
            "1.11.2",
            "v1",
        ),
        ("installed version: 1.5.0\n   latest version: 1.5.0\n", "1.5.0", "v1"),
    ],
)
def test_parse_version_output(output: str, version: str, generation: str) -> None:
    detected = parse_version_output(output)
    assert detected is not None and (detected.version, detected.generation) == (version, generation)


def test_v2_executable_gets_the_subprocess_engine_and_v2_exit_codes(tmp_path: Path) -> None:
    fusion = _script(tmp_path, "dbt", 'echo "dbt-fusion 2.0.0-preview.170"')
    environment = dbt_executable_environment(fusion)
    assert environment.engine == "subprocess" and environment.exit_codes == "v2"
    assert environment.dbt_executable == fusion and environment.python is None
    assert "2.0.0-preview.170" in environment.description
    assert resolve_environment(environment) is environment  # package(..., venv=environment) accepts it


def test_found_on_path_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _script(tmp_path, "dbtf", 'echo "dbt-fusion 2.0.0-beta.61"')
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}")
    assert dbt_executable_environment("dbtf").dbt_executable == tmp_path / "dbtf"


@pytest.mark.slow
@pytest.mark.dbt  # runs `dbt --version` of the environment running the tests
def test_real_python_dbt_executable_is_v1() -> None:
    dbt = Path(sys.executable).parent / "dbt"  # the dbt of the environment running the tests
    environment = dbt_executable_environment(dbt)
    assert environment.exit_codes == "v1" and environment.engine == "subprocess"
    import dbt.version

    assert dbt.version.__version__ in environment.description


def test_not_dbt_missing_or_not_executable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(PrerequisitesException, match="does not look like dbt"):
        dbt_executable_environment(_script(tmp_path, "other", 'echo "other-tool 3.0"'))
    plain = tmp_path / "plain"
    plain.write_text("dbt")
    with pytest.raises(ConfigurationError, match="not an executable file"):
        dbt_executable_environment(plain)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(PrerequisitesException, match="no 'dbt' executable on PATH"):
        dbt_executable_environment()
