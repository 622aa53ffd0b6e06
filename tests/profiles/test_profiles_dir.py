"""Profile repr hides secrets; ProfilesDir writes a private profiles.yml with env_var references only."""

from __future__ import annotations

import gc
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.profiles import Profile, ProfilesDir, resolve_destination

PW = "pr0files-Dir-secret"


def _profile() -> Profile:
    profile = resolve_destination(f"postgresql://loader:{PW}@db.local:5432/wh", dataset_name="raw")
    assert profile is not None
    return profile


def test_repr_and_str_hide_secrets() -> None:
    profile = _profile()
    for text in (repr(profile), str(profile), f"{profile}", f"{profile!r}"):
        assert PW not in text
        assert "postgres" in text and "1 hidden" in text


def test_profile_copies_its_inputs() -> None:
    output = {"type": "duckdb", "path": "/x.duckdb"}
    profile = Profile("duckdb", output, {}, None, "duckdb", ("dbt-duckdb",))
    output["path"] = "/changed"
    assert profile.output["path"] == "/x.duckdb" and profile.schema is None


def test_profiles_dir_is_private_and_holds_no_secret() -> None:
    profile = _profile()
    with ProfilesDir(profile, "my_profile", target="prod") as profiles:
        assert stat.S_IMODE(profiles.path.stat().st_mode) == 0o700
        assert stat.S_IMODE(profiles.file.stat().st_mode) == 0o600
        text = profiles.file.read_text()
        assert PW not in text
        content = yaml.safe_load(text)
        assert content["my_profile"]["target"] == "prod"
        output = content["my_profile"]["outputs"]["prod"]
        assert output == dict(profile.output)
        assert output["password"] == "{{ env_var('DBT_ENV_SECRET_PASSWORD') }}"
        assert PW not in repr(profiles)
        folder = profiles.path
    assert not folder.exists()


def test_cleanup_is_idempotent() -> None:
    profiles = ProfilesDir(_profile(), "p")
    profiles.cleanup()
    profiles.cleanup()
    assert not profiles.path.exists()


def test_forgotten_profiles_dir_is_removed_when_collected() -> None:
    profiles = ProfilesDir(_profile(), "p")
    folder = profiles.path
    del profiles
    gc.collect()
    assert not folder.exists()


def test_profiles_dir_removed_at_interpreter_exit(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from dbt_kickoff.profiles import ProfilesDir, resolve_destination\n"
        "keep = ProfilesDir(resolve_destination('postgresql://u:pw@h/db'), 'p')\n"
        "print(keep.path)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert not Path(proc.stdout.strip()).exists()


def test_no_secret_left_in_temp_after_cleanup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    with ProfilesDir(_profile(), "p") as profiles:
        assert profiles.path.parent == tmp_path
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("name", "target"), [("", "kickoff"), ("p", ""), ("bad name", "t"), ("p", "a:b")])
def test_bad_profile_or_target_name(name: str, target: str) -> None:
    with pytest.raises(ConfigurationError, match="not usable"):
        ProfilesDir(_profile(), name, target=target)


def test_with_schema_and_hash() -> None:
    profile = _profile()
    other = profile.with_schema("marts")
    assert other.schema == "marts" and profile.schema == "raw"
    assert other.secret_env == profile.secret_env and other.output["password"] == profile.output["password"]
    assert hash(profile) == hash(_profile()) and profile == _profile() and profile != other
    bq = resolve_destination("bigquery://p/ds")
    assert bq is not None and bq.with_schema("x").output["dataset"] == "x"
