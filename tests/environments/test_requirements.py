from __future__ import annotations

from pathlib import Path

import pytest

from dbt_kickoff.environments.requirements import (
    DEFAULT_DBT_VERSION,
    dbt_core_requirement,
    is_fusion,
    resolve_requirements,
)
from dbt_kickoff.errors import ConfigurationError


@pytest.mark.parametrize(
    ("dbt_version", "expected"),
    [
        (None, "dbt-core<1.12,>=1.10"),
        ("1.11.2", "dbt-core==1.11.2"),
        ("1.11", "dbt-core==1.11.*"),
        ("1.11.*", "dbt-core==1.11.*"),
        (">=1.8,<1.12", "dbt-core<1.12,>=1.8"),
        ("~=1.10.0", "dbt-core~=1.10.0"),
        ("==0.0.1", "dbt-core==0.0.1"),
    ],
)
def test_dbt_version_forms(dbt_version: str | None, expected: str) -> None:
    assert dbt_core_requirement(dbt_version) == expected


@pytest.mark.parametrize("bad", ["latest", ">=1.10,,<", "1.x", "==", "dbt-core>=1.10"])
def test_invalid_dbt_version_says_what_is_accepted(bad: str) -> None:
    with pytest.raises(ConfigurationError, match="neither a version") as info:
        dbt_core_requirement(bad)
    assert DEFAULT_DBT_VERSION in str(info.value)


@pytest.mark.parametrize(
    ("destination", "adapter"),
    [
        ("duckdb", "dbt-duckdb"),
        ("motherduck", "dbt-duckdb"),
        ("postgres", "dbt-postgres"),
        ("duckdb:///does/not/exist/yet.duckdb", "dbt-duckdb"),  # only the scheme matters for the venv
        ("postgresql://kickoff:s3cret@127.0.0.1:5432/postgres", "dbt-postgres"),
        ({"type": "duckdb", "path": "x.duckdb"}, "dbt-duckdb"),
        ({"type": "postgres", "host": "h", "user": "u", "password": "p", "dbname": "d"}, "dbt-postgres"),
    ],
)
def test_destination_decides_the_adapter(destination: object, adapter: str) -> None:
    assert resolve_requirements(destination, None, None) == (dbt_core_requirement(None), adapter)


def test_explicit_adapters_win_and_merge_with_pins() -> None:
    requirements = resolve_requirements(
        "postgresql://u:p@h/db", "1.11.*", ["duckdb", "dbt-duckdb>=1.9", "Postgres", "spark"]
    )
    assert requirements == ("dbt-core==1.11.*", "dbt-duckdb>=1.9", "dbt-postgres", "dbt-spark")


def test_requirement_order_and_spelling_do_not_change_the_set() -> None:
    first = resolve_requirements(None, ">=1.10,<1.12", ["postgres", "duckdb"])
    second = resolve_requirements(None, "<1.12, >=1.10", ["dbt_duckdb", "dbt-Postgres"])
    assert first == second


def test_unknown_adapter_lists_what_is_known() -> None:
    with pytest.raises(ConfigurationError, match="unknown dbt adapter 'oracle-ish'") as info:
        resolve_requirements(None, None, ["oracle-ish"])
    assert "duckdb" in str(info.value) and "dbt-" in str(info.value)


def test_unknown_destination_type_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="nope"):
        resolve_requirements("nope", None, None)


def test_url_with_unknown_scheme_never_shows_its_password() -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve_requirements("oracle://scott:tiger-s3cret@db:1521/x", None, None)
    assert "tiger-s3cret" not in str(info.value)


def test_adapter_given_as_url_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="not a URL"):
        resolve_requirements(None, None, ["dbt-duckdb @ https://example.invalid/x.whl"])


def test_no_destination_and_no_adapters() -> None:
    with pytest.raises(ConfigurationError, match="adapters="):
        resolve_requirements(None, None, None)


def test_dlt_pipeline_needs_no_credentials_to_pick_the_adapter(tmp_path: Path) -> None:
    dlt = pytest.importorskip("dlt")
    pipeline = dlt.pipeline(pipeline_name="p", destination="postgres", dataset_name="d", pipelines_dir=str(tmp_path))
    assert resolve_requirements(pipeline, None, None) == (dbt_core_requirement(None), "dbt-postgres")


def test_dlt_argument_order_gets_a_hint() -> None:
    with pytest.raises(ConfigurationError, match="pass venv_path= by name"):
        dbt_core_requirement("dbt")


@pytest.mark.parametrize(
    ("dbt_version", "expected"),
    [
        ("fusion", ("dbt>=2.0.0rc0,<3",)),
        ("2.*", ("dbt>=2.0.0rc0,<3",)),
        ("2", ("dbt>=2.0.0rc0,<3",)),
        ("==2.*", ("dbt>=2.0.0rc0,<3",)),
        ("2.0.0rc196", ("dbt==2.0.0rc196",)),
        ("2.0.0-preview.196", ("dbt==2.0.0rc196",)),  # what `dbt --version` prints, normalized by PEP 440
        (">=2.0.0rc100,<3", ("dbt<3,>=2.0.0rc100",)),
    ],
)
def test_the_v2_engine_is_the_dbt_distribution_alone(dbt_version: str, expected: tuple[str, ...]) -> None:
    assert is_fusion(dbt_version)
    assert resolve_requirements("postgres", dbt_version, None) == expected  # adapters are built into v2
    assert resolve_requirements(None, dbt_version, None) == expected  # so no destination is needed


@pytest.mark.parametrize("dbt_version", [None, "1.11", "1.11.*", ">=1.10,<1.12", "<2", "!=2.0.0", ">=99"])
def test_v1_versions_are_not_the_v2_engine(dbt_version: str | None) -> None:
    assert not is_fusion(dbt_version)
    assert resolve_requirements("postgres", dbt_version, None)[0].startswith("dbt-core")
