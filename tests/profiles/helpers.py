"""Assertions shared by the profile tests."""

from __future__ import annotations

import re
from collections.abc import Iterable

from dbt_kickoff.profiles import Profile

ENV_REF = re.compile(r"^\{\{ env_var\('(DBT_ENV_SECRET_[A-Z0-9_]+)'\)( \| as_number| \| as_bool)? \}\}$")


def walk(value: object) -> Iterable[object]:
    if isinstance(value, dict):
        for item in value.values():
            yield from walk(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from walk(item)
    else:
        yield value


def assert_secrets_hidden(profile: Profile, *secrets: str) -> None:
    """Each secret is only in ``secret_env``; the output holds env_var references to existing variables."""
    text = repr(dict(profile.output))
    for secret in secrets:
        assert secret not in text
        assert secret not in repr(profile) and secret not in str(profile)
        assert secret in profile.secret_env.values()
    for value in walk(dict(profile.output)):
        if isinstance(value, str) and "env_var" in value:
            match = ENV_REF.match(value)
            assert match, value
            assert match.group(1) in profile.secret_env
    assert all(name.startswith("DBT_ENV_SECRET_") for name in profile.secret_env)


def assert_required(profile: Profile, *fields: str) -> None:
    missing = [f for f in fields if profile.output.get(f) in (None, "")]
    assert not missing, f"{profile.adapter_type} output lacks documented required fields {missing}"
