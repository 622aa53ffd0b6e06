"""Destinations -> dbt profiles.

A destination (dlt pipeline, URL, mapping) becomes a :class:`Profile`: a dbt profile output whose secrets are
``env_var('DBT_ENV_SECRET_…')`` references, plus the secret values to put into the dbt process's environment.
:class:`ProfilesDir` writes it as a private, temporary ``profiles.yml``. The URL forms of each destination are
documented in the modules of :mod:`dbt_kickoff.profiles.adapters`.
"""

from dbt_kickoff.profiles.adapters import supported_schemes, supported_types
from dbt_kickoff.profiles.model import SECRET_ENV_PREFIX, Profile
from dbt_kickoff.profiles.profiles_dir import ProfilesDir
from dbt_kickoff.profiles.resolve import dbt_packages_for, resolve_destination
from dbt_kickoff.profiles.urls import redact_url

__all__ = [
    "SECRET_ENV_PREFIX",
    "Profile",
    "ProfilesDir",
    "dbt_packages_for",
    "redact_url",
    "resolve_destination",
    "supported_schemes",
    "supported_types",
]
