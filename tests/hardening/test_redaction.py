"""The one masker: URLs, free text, known values, exception chains and log records."""

from __future__ import annotations

import logging

import pytest

from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.profiles import resolve_destination
from dbt_kickoff.profiles.urls import redact_url as profiles_redact_url
from dbt_kickoff.redaction import RedactingFilter, Redactor, redact_exception, redact_text, redact_url
from dbt_kickoff.sources.git_urls import Redactor as GitRedactor
from dbt_kickoff.sources.git_urls import redact_url as git_redact_url

SECRET = "Hunter2-Zq9"

TEXTS = [
    f"postgresql://loader:{SECRET}@db.local:5432/wh",
    f"connecting to https://{SECRET}@github.com/org/repo.git failed",
    f"https://deploy:{SECRET}@git.example.com/r.git",
    f"snowflake://u@acct/db?warehouse=w&private_key_passphrase={SECRET}",
    f"dsn: host=db user=loader password={SECRET} dbname=wh",
    f'{{"api_token": "{SECRET}", "account_id": 1}}',
    f"motherduck://{SECRET}@my_db",
    f"md:my_db?motherduck_token={SECRET}",
    f"token: {SECRET}",
    f"aws_secret_access_key={SECRET}",
]


@pytest.mark.parametrize("text", TEXTS)
def test_free_text_never_shows_the_secret(text: str) -> None:
    assert SECRET not in redact_text(text)
    assert SECRET not in Redactor()(text)


@pytest.mark.parametrize("text", TEXTS)
def test_a_large_log_is_masked_like_a_short_text(text: str) -> None:
    filler = "".join(f"{i:06d} Began running node model.pkg.a_really_long_model_name_{i} in thread-1\n"
                     for i in range(2000))  # ~150 kB: the large-text path of the masker
    masked = redact_text(f"{filler}{text}\n{filler}")
    assert SECRET not in masked and masked.startswith(filler) and masked.endswith(filler)


def test_a_value_on_the_line_after_its_key_is_masked_in_a_large_log() -> None:
    filler = "x = 1\n" * 20000
    masked = redact_text(f"{filler}password:\n  {SECRET}\n{filler}")
    assert SECRET not in masked


@pytest.mark.parametrize("url", [t for t in TEXTS if " " not in t and not t.startswith("{")])
def test_a_url_never_shows_the_secret(url: str) -> None:
    assert SECRET not in redact_url(url)


def test_a_secret_in_an_ordinary_url_parameter_is_not_echoed() -> None:
    url = f"postgresql://loader@db.local/wh?application_name={SECRET}&sslmod=require"
    assert SECRET not in redact_url(url)
    with pytest.raises(ConfigurationError) as caught:
        resolve_destination(url)
    assert "sslmod" in str(caught.value) and SECRET not in str(caught.value)


@pytest.mark.parametrize("field", ["sslmode", "port", "connect_timeout", "keepalives_idle"])
def test_a_secret_in_an_ordinary_field_is_not_echoed_by_its_validation_error(field: str) -> None:
    url = f"postgresql://loader@db.local/wh?{field}={SECRET}"
    try:
        resolve_destination(url)
    except ConfigurationError as exc:
        assert SECRET not in str(exc)


def test_known_values_anywhere_and_one_home_for_every_variant() -> None:
    redact = Redactor([SECRET, None, ""])
    assert redact(f"dbt said: invalid input syntax for type integer: \"{SECRET}\"") == (
        'dbt said: invalid input syntax for type integer: "***"')
    assert GitRedactor is Redactor and git_redact_url is redact_text and profiles_redact_url is redact_url
    assert SECRET not in repr(redact)


def test_exception_chains_are_masked_link_by_link() -> None:
    try:
        try:
            raise OSError(f"could not connect with password={SECRET}")
        except OSError as inner:
            raise ValueError(f"wrapped {SECRET}") from inner
    except ValueError as outer:
        try:
            raise ConfigurationError("destination failed") from outer
        except ConfigurationError as exc:
            text = redact_exception(exc, Redactor([SECRET]))
    assert SECRET not in text
    assert "destination failed" in text and "ValueError" in text and "OSError" in text


def test_log_records_are_masked_in_message_arguments_and_traceback(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("dbt_kickoff.tests.redaction")
    handler = logging.StreamHandler()
    records: list[str] = []
    handler.emit = lambda record: records.append(handler.format(record))  # type: ignore[method-assign]
    handler.addFilter(RedactingFilter(Redactor([SECRET])))
    logger.addHandler(handler)
    try:
        logger.warning("connect %s", f"postgresql://u:{SECRET}@h/db")
        try:
            raise RuntimeError(f"boom {SECRET}")
        except RuntimeError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    assert records and all(SECRET not in record for record in records)
    assert "RuntimeError" in records[-1]
