"""The emulator is a package of its own: it imports nothing from dbt_kickoff, dbt_kickoff imports it only when
asked, and its documented names (``dbt_kickoff.cloud.emulator``, the pytest plugin, ``dbt-kickoff cloud
emulator``) keep working — or say which extra to install when it is missing."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import dbt_kickoff
import dbt_kickoff_emulator
from dbt_kickoff.cli.main import main
from dbt_kickoff.errors import ConfigurationError

EMULATOR_SOURCES = Path(dbt_kickoff_emulator.__file__).parent
RUNTIME_SOURCES = Path(dbt_kickoff.__file__).parent
SHIM = RUNTIME_SOURCES / "cloud" / "emulator"


def imported_modules(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """Every module an ``import``/``from … import`` under ``tree`` names, with its line (relative imports as
    ``.name``)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            yield node.lineno, "." * node.level + (node.module or "")


def module_level_imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """The imports a module runs when it is imported: everywhere but inside functions."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        else:
            yield from module_level_imports(node)


def test_the_emulator_imports_nothing_from_dbt_kickoff() -> None:
    """Anywhere in its sources: at module level, inside functions and under ``TYPE_CHECKING``."""
    files = sorted(EMULATOR_SOURCES.rglob("*.py"))
    assert len(files) > 10  # the whole package is read, not an empty folder
    offending = [
        f"{path.relative_to(EMULATOR_SOURCES)}:{line}: {name}"
        for path in files
        for line, name in imported_modules(ast.parse(path.read_text(), str(path)))
        if name == "dbt_kickoff" or name.startswith("dbt_kickoff.")
    ]
    assert offending == []


def test_the_import_check_sees_imports_inside_functions_and_type_checking() -> None:
    source = textwrap.dedent("""
        from typing import TYPE_CHECKING
        if TYPE_CHECKING:
            from dbt_kickoff.results import NodeResult
        def later():
            import dbt_kickoff.cloud
    """)
    assert [name for _, name in imported_modules(ast.parse(source))] == ["typing", "dbt_kickoff.results",
                                                                          "dbt_kickoff.cloud"]


def test_the_runtime_package_imports_the_emulator_only_inside_functions() -> None:
    offending = []
    for path in sorted(RUNTIME_SOURCES.rglob("*.py")):
        if SHIM in path.parents:
            continue  # the re-export itself
        for statement in module_level_imports(ast.parse(path.read_text(), str(path))):
            for line, name in imported_modules(statement):
                if name.startswith(("dbt_kickoff_emulator", "dbt_kickoff.cloud.emulator")):
                    offending.append(f"{path.relative_to(RUNTIME_SOURCES)}:{line}: {name}")
    assert offending == []


def test_importing_the_library_and_its_cli_leaves_the_emulator_unloaded() -> None:
    code = ("import sys, dbt_kickoff, dbt_kickoff.cloud, dbt_kickoff.cli.main, dbt_kickoff.demo.cloud_demo; "
            "print('dbt_kickoff_emulator' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert done.stdout.strip() == "False"


def test_the_documented_import_path_is_the_emulator_package() -> None:
    import dbt_kickoff.cloud.emulator as documented

    for name in dbt_kickoff_emulator.__all__:
        assert getattr(documented, name) is getattr(dbt_kickoff_emulator, name)


def test_the_emulator_clock_is_a_client_clock() -> None:
    """Production code adapts nothing: the emulator's fake clock is a :class:`dbt_kickoff.cloud.Clock` as is."""
    from dbt_kickoff.cloud import Clock
    from dbt_kickoff.cloud.clock import as_clock

    fake = dbt_kickoff_emulator.FakeClock()
    assert isinstance(fake, Clock) and as_clock(fake) is fake
    before = fake.monotonic()
    fake.sleep(90)
    assert fake.monotonic() - before == 90 and fake.time() == fake.now().timestamp()
    with pytest.raises(TypeError, match="not a clock"):
        as_clock(object())  # type: ignore[arg-type]


def test_the_documented_pytest_plugin_still_gives_the_fixtures(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["dbt_kickoff.cloud.emulator.pytest_plugin"]\n')
    (tmp_path / "test_uses_fixtures.py").write_text(textwrap.dedent("""
        import httpx

        def test_fixtures(dbt_cloud_emulator, dbt_cloud_credentials):
            creds = dbt_cloud_credentials
            url = f"{creds['base_url']}/api/v2/accounts/{creds['account_id']}/jobs/{creds['job_id']}/"
            answer = httpx.get(url, headers={"Authorization": f"Token {creds['api_token']}"})
            assert answer.status_code == 200 and answer.json()["data"]["id"] == creds["job_id"]
    """))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", "-o", "addopts=",
         str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


@pytest.fixture
def emulator_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if ``dbt-kickoff-emulator`` were not installed (``None`` in ``sys.modules`` makes its import fail)."""
    for name in [n for n in sys.modules if n.startswith(("dbt_kickoff_emulator", "dbt_kickoff.cloud.emulator"))]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "dbt_kickoff_emulator", None)


@pytest.mark.usefixtures("emulator_missing")
def test_a_missing_emulator_names_the_extra_to_install() -> None:
    with pytest.raises(ImportError) as caught:
        importlib.import_module("dbt_kickoff.cloud.emulator")
    assert isinstance(caught.value, ConfigurationError)
    assert "pip install 'dbt-kickoff[emulator]'" in str(caught.value)
    with pytest.raises(ConfigurationError, match=r"dbt-kickoff\[emulator\]"):
        importlib.import_module("dbt_kickoff.cloud.emulator.pytest_plugin")


@pytest.mark.usefixtures("emulator_missing")
def test_the_cli_says_which_extra_serves_the_emulator(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cloud", "emulator", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "pip install 'dbt-kickoff[emulator]'" in err
    assert "Traceback" not in err
