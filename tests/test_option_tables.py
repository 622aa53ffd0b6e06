"""Each room owns its option table; one name means one thing in every room; ``unchecked`` only unwraps entry
points that ``validated`` made."""

from __future__ import annotations

import pytest

from dbt_kickoff.cli.options import CLI_OPTIONS
from dbt_kickoff.cloud.options import CLOUD_OPTIONS
from dbt_kickoff.core.options import CORE_OPTIONS
from dbt_kickoff.environments.options import VENV_OPTIONS
from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.sources.options import GIT_OPTIONS
from dbt_kickoff.validation import TEXT, Number, option_table, unchecked, validated


def test_a_name_two_rooms_share_has_one_spec() -> None:
    tables = [CLI_OPTIONS, CLOUD_OPTIONS, CORE_OPTIONS, VENV_OPTIONS, GIT_OPTIONS]
    for table in tables:
        for other in tables:
            for name in set(table) & set(other):
                assert table[name] == other[name], name
    assert GIT_OPTIONS["timeout"] == CLOUD_OPTIONS["timeout"]  # a git timeout reads like a dbt Cloud wait timeout


def test_a_room_cannot_give_a_known_name_another_meaning() -> None:
    with pytest.raises(ValueError, match="poll_interval"):
        option_table("a careless room", {"poll_interval": TEXT})


def test_a_room_table_is_read_only() -> None:
    with pytest.raises(TypeError):
        CLOUD_OPTIONS["poll_interval"] = TEXT  # type: ignore[index]


def test_unchecked_skips_the_checks_of_a_validated_function_only() -> None:
    @validated({"seconds": Number("a number >= 0", minimum=0)})
    def wait(seconds: float) -> float:
        return seconds

    with pytest.raises(ConfigurationError, match="wait\\(\\): seconds must be a number >= 0"):
        wait(-1)
    assert unchecked(wait)(-1) == -1  # an inner layer trusts what its entry point checked
    with pytest.raises(TypeError, match="not a validated entry point"):
        unchecked(print)
