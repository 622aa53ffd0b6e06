"""Snowflake (``dbt-snowflake``): password, key pair (key content or path, optional passphrase), or another
authenticator.

URL forms::

    snowflake://USER:PASSWORD@ACCOUNT/DATABASE?warehouse=WH&role=ROLE&schema=SCHEMA
    snowflake://USER@ACCOUNT/DATABASE/SCHEMA?warehouse=WH&private_key_path=/path/rsa_key.p8&private_key_passphrase=PASS

Mapping fields are dbt's (``account``, ``user``, ``password``, ``private_key``, ``private_key_path``,
``private_key_passphrase``, ``database``, ``warehouse``, ``role``, ``schema``, ``authenticator``) or dlt's
(``host`` for the account, ``username``). Secrets (password, private key content, passphrase, token) become
``DBT_ENV_SECRET_*`` variables. ``connect_timeout`` defaults to 10 s. The default schema is ``PUBLIC``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.profiles.adapters.base import Adapter
from dbt_kickoff.profiles.fields import FieldReader
from dbt_kickoff.profiles.secrets import SecretEnv
from dbt_kickoff.profiles.urls import UrlParts

DEFAULT_SCHEMA = "PUBLIC"
DEFAULT_CONNECT_TIMEOUT = 10
EXAMPLE = "snowflake://USER:PASSWORD@ACCOUNT/DATABASE?warehouse=WH&role=ROLE"


def _from_url(parts: UrlParts) -> dict[str, Any]:
    segments = parts.path_segments
    if len(segments) > 2:
        raise ConfigurationError(f"snowflake URL {parts.redacted}: the path is DATABASE or DATABASE/SCHEMA")
    return {
        "user": parts.username,
        "password": parts.password,
        "account": parts.host,
        "database": segments[0] if segments else None,
        "schema": segments[1] if len(segments) > 1 else None,
        **parts.query,
    }


def _build(f: FieldReader, secrets: SecretEnv) -> dict[str, Any]:
    output: dict[str, Any] = {
        "type": "snowflake",
        "account": str(f.require("account", "host", hint=f"e.g. {EXAMPLE}")),
        "user": str(f.require("user", "username", hint=f"e.g. {EXAMPLE}")),
        "database": str(f.require("database", hint=f"add the database to the URL path: {EXAMPLE}")),
        "warehouse": str(f.require("warehouse", hint=f"add ?warehouse=NAME, e.g. {EXAMPLE}")),
        "schema": f.schema("schema", default=DEFAULT_SCHEMA),
    }
    role = f.text("role")
    if role:
        output["role"] = role
    password = f.get("password")
    key = f.get("private_key")
    key_path = f.text("private_key_path")
    authenticator = f.text("authenticator")
    if key is not None:
        output["private_key"] = secrets.ref("SNOWFLAKE_PRIVATE_KEY", key)
    elif key_path:
        path = Path(key_path).expanduser().absolute()
        if not path.is_file():
            raise ConfigurationError(
                f"snowflake destination {f.ctx.where}: private_key_path {str(path)!r} is not a readable file"
            )
        output["private_key_path"] = str(path)
    elif password is not None:
        output["password"] = secrets.ref("PASSWORD", password)
    elif not authenticator:
        raise ConfigurationError(
            f"snowflake destination {f.ctx.where} has no credentials: give a password, a private_key "
            "(content) or private_key_path (key pair), or an authenticator"
        )
    passphrase = f.get("private_key_passphrase")
    if passphrase is not None and (key is not None or key_path):
        output["private_key_passphrase"] = secrets.ref("SNOWFLAKE_PRIVATE_KEY_PASSPHRASE", passphrase)
    if authenticator:
        output["authenticator"] = authenticator
        token = f.get("token")
        if token is not None:
            output["token"] = secrets.ref("SNOWFLAKE_TOKEN", token)
        if password is not None and "password" not in output:  # e.g. username_password_mfa
            output["password"] = secrets.ref("PASSWORD", password)
    timeout = f.ctx.connect_timeout
    output["connect_timeout"] = (
        max(1, round(timeout)) if timeout is not None
        else f.integer("connect_timeout", default=DEFAULT_CONNECT_TIMEOUT, low=1)
    )
    for name in ("query_tag", "client_session_keep_alive", "connect_retries"):
        value = f.get(name)
        if value is not None:
            output[name] = f.boolean(name) if name == "client_session_keep_alive" else value
    return output


SNOWFLAKE = Adapter(
    name="snowflake",
    adapter_type="snowflake",
    packages=("dbt-snowflake",),
    build=_build,
    from_url=_from_url,
    schemes=("snowflake",),
    url_forms=(
        "snowflake://USER:PASSWORD@ACCOUNT/DATABASE[/SCHEMA]?warehouse=WH&role=ROLE",
        "snowflake://USER@ACCOUNT/DATABASE?warehouse=WH&private_key_path=PATH&private_key_passphrase=PASS",
    ),
)
