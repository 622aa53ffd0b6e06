"""Git packages from file:// repositories: refs, subdirectories, updates, repairs and bad input."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from dbt_kickoff.errors import ConfigurationError, PrerequisitesException
from dbt_kickoff.sources import LocalSource, open_source
from dbt_kickoff.sources.git import GitSource
from tests.sources.upstream import Upstream, git


def _source(upstream: Upstream, cache_dir: Path, **options: object) -> GitSource:
    source = open_source(upstream.file_url, cache_dir=cache_dir, **options)  # type: ignore[arg-type]
    assert isinstance(source, GitSource)
    return source


def test_resolve_clones_the_default_branch_and_reports_the_commit(
    upstream: Upstream, cache_dir: Path
) -> None:
    resolved = _source(upstream, cache_dir).resolve()
    assert resolved.commit_sha == upstream.head()
    assert (resolved.project_name, resolved.profile_name) == ("tiny", "tiny")
    assert resolved.location == upstream.file_url
    assert resolved.project_dir.parent == cache_dir
    assert (resolved.project_dir / "models" / "one.sql").read_text() == "select 1 as id\n"


def test_branch_tag_full_and_short_sha(upstream: Upstream, cache_dir: Path) -> None:
    first = upstream.head()
    tagged = upstream.commit({"models/tagged.sql": "select 't'"}, "tagged")
    upstream.tag("v1.0")
    upstream.switch("dev", create=True)
    dev = upstream.commit({"models/dev.sql": "select 'dev'"}, "dev work")
    upstream.switch("main")
    main = upstream.commit({"models/main.sql": "select 'main'"}, "main work")

    expectations = {
        None: (main, "models/main.sql"),
        "main": (main, "models/main.sql"),
        "dev": (dev, "models/dev.sql"),
        "v1.0": (tagged, "models/tagged.sql"),
        first: (first, "models/one.sql"),
        tagged[:10]: (tagged, "models/tagged.sql"),
    }
    folders = set()
    for ref, (sha, present) in expectations.items():
        resolved = _source(upstream, cache_dir, ref=ref).resolve()
        assert resolved.commit_sha == sha, ref
        assert (resolved.project_dir / present).is_file(), ref
        folders.add(resolved.project_dir)
    assert not (_source(upstream, cache_dir, ref=first).resolve().project_dir / "models/main.sql").exists()
    assert len(folders) == len(expectations)  # one checkout per ref


def test_subdirectory_as_parameter_and_url_suffix(upstream: Upstream, cache_dir: Path) -> None:
    by_parameter = _source(upstream, cache_dir, subdirectory="analytics/other").resolve()
    by_suffix = open_source(
        upstream.file_url + "#subdirectory=analytics/other", cache_dir=cache_dir
    ).resolve()
    assert by_parameter.project_dir == by_suffix.project_dir
    assert by_parameter.project_dir.name == "other"
    assert (by_parameter.project_name, by_parameter.profile_name) == ("other", "other_profile")
    assert by_suffix.location.endswith("#subdirectory=analytics/other")


def test_subdirectory_without_dbt_project_names_the_folders_that_have_one(
    upstream: Upstream, cache_dir: Path
) -> None:
    with pytest.raises(PrerequisitesException, match=r"no dbt_project\.yml in subdirectory 'docs'") as caught:
        _source(upstream, cache_dir, subdirectory="docs").resolve()
    assert "analytics/other" in str(caught.value) and "(root)" in str(caught.value)


def test_missing_ref_lists_existing_refs_and_leaves_nothing_behind(
    upstream: Upstream, cache_dir: Path
) -> None:
    upstream.tag("v2.3")
    with pytest.raises(PrerequisitesException, match="ref 'does-not-exist' does not exist") as caught:
        _source(upstream, cache_dir, ref="does-not-exist").resolve()
    assert "branches: main" in str(caught.value) and "tags: v2.3" in str(caught.value)
    with pytest.raises(PrerequisitesException, match="ref 'abcdef1234' does not exist"):
        _source(upstream, cache_dir, ref="abcdef1234").resolve()  # sha-like: searched in full history first
    assert [p.name for p in cache_dir.iterdir() if not p.name.endswith(".lock")] == [".tmp"]
    assert list((cache_dir / ".tmp").iterdir()) == []


def test_missing_repository(tmp_path: Path, cache_dir: Path) -> None:
    url = (tmp_path / "nowhere.git").as_uri()
    with pytest.raises(
        PrerequisitesException, match="does not exist or is not readable; check package_location"
    ):
        open_source(url, cache_dir=cache_dir).resolve()


def test_ensure_newest_fetches_new_commits_and_keeps_dbt_state(upstream: Upstream, cache_dir: Path) -> None:
    source = _source(upstream, cache_dir, ref="main")
    first = source.resolve()
    checkout = first.project_dir
    git_dir_inode = (checkout / ".git").stat().st_ino
    (checkout / "target").mkdir()
    (checkout / "target" / "partial_parse.msgpack").write_bytes(b"\x81parsed")
    (checkout / "dbt_packages" / "dbt_utils").mkdir(parents=True)
    (checkout / "dbt_packages" / "dbt_utils" / "dbt_project.yml").write_text("name: dbt_utils\n")
    (checkout / "models" / "one.sql").write_text("select 'edited by hand'")
    (checkout / "models" / "stray.sql").write_text("select 'not in git'")

    unchanged = source.ensure_newest()
    assert unchanged.commit_sha == first.commit_sha
    assert (checkout / "models" / "one.sql").read_text() == "select 1 as id\n"
    assert not (checkout / "models" / "stray.sql").exists()

    new_sha = upstream.commit({"models/new.sql": "select 'new'"}, "new model")
    updated = source.ensure_newest()
    assert updated.commit_sha == new_sha != first.commit_sha
    assert (checkout / "models" / "new.sql").is_file()
    assert (checkout / "target" / "partial_parse.msgpack").read_bytes() == b"\x81parsed"
    assert (checkout / "dbt_packages" / "dbt_utils" / "dbt_project.yml").is_file()
    assert (checkout / ".git").stat().st_ino == git_dir_inode  # fetched in place, not cloned again
    assert git("rev-parse", "HEAD", cwd=checkout) == new_sha


def test_a_commit_sha_already_present_needs_no_network(upstream: Upstream, cache_dir: Path) -> None:
    sha = upstream.head()
    upstream.commit({"models/later.sql": "select 2"}, "later")
    source = _source(upstream, cache_dir, ref=sha)
    assert source.resolve().commit_sha == sha
    shutil.move(upstream.bare, upstream.bare.with_name("moved-away.git"))  # the remote is gone
    assert source.resolve().commit_sha == sha
    assert source.ensure_newest().commit_sha == sha
    branch = _source(upstream, cache_dir, ref="main")
    with pytest.raises(PrerequisitesException, match="does not exist or is not readable"):
        branch.resolve()


def test_dirty_checkout_is_cleaned_on_resolve(upstream: Upstream, cache_dir: Path) -> None:
    source = _source(upstream, cache_dir)
    checkout = source.resolve().project_dir
    (checkout / "dbt_project.yml").write_text("name: tampered\n")
    (checkout / "models" / "one.sql").unlink()
    (checkout / "junk").mkdir()
    (checkout / "junk" / "file.txt").write_text("x")
    resolved = source.resolve()
    assert resolved.project_name == "tiny"
    assert (checkout / "models" / "one.sql").is_file()
    assert not (checkout / "junk").exists()


def test_checkout_moved_off_its_commit_is_put_back(upstream: Upstream, cache_dir: Path) -> None:
    first = upstream.head()
    source = _source(upstream, cache_dir)
    checkout = source.resolve().project_dir
    upstream.commit({"models/second.sql": "select 2"}, "second")
    git("fetch", "-q", "origin", "main", cwd=checkout)
    git("checkout", "-q", "FETCH_HEAD", cwd=checkout)
    assert source.resolve().commit_sha == first
    assert git("rev-parse", "HEAD", cwd=checkout) == first


def test_corrupted_checkout_is_replaced(
    upstream: Upstream, cache_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = _source(upstream, cache_dir)
    checkout = source.resolve().project_dir
    for item in (checkout / ".git" / "objects").iterdir():
        if item.name not in ("info", "pack"):
            shutil.rmtree(item)
    for pack in (checkout / ".git" / "objects" / "pack").iterdir():
        pack.unlink()
    with caplog.at_level(logging.WARNING, logger="dbt_kickoff"):
        resolved = source.resolve()
    assert "damaged" in caplog.text
    assert resolved.commit_sha == upstream.head()
    assert git("fsck", "--no-progress", cwd=checkout) == ""


def test_half_written_checkout_and_leftover_clone_are_replaced(
    upstream: Upstream, cache_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = _source(upstream, cache_dir)
    checkout = source.resolve().project_dir
    (checkout / ".git" / "dbt-kickoff.json").unlink()  # what a clone killed before it finished looks like
    (checkout / "models" / "one.sql").unlink()
    leftover = cache_dir / ".tmp" / f"{checkout.name}-killed"
    (leftover / ".git").mkdir(parents=True)
    with caplog.at_level(logging.WARNING, logger="dbt_kickoff"):
        resolved = source.resolve()
    assert "incomplete" in caplog.text
    assert (resolved.project_dir / "models" / "one.sql").is_file()
    assert not leftover.exists()


def test_local_folders_stay_local(upstream: Upstream, tmp_path: Path) -> None:
    local = open_source(str(upstream.work), subdirectory="analytics/other")
    assert isinstance(local, LocalSource)
    assert local.resolve().project_name == "other"
    with pytest.raises(ConfigurationError, match="only apply to git URLs"):
        open_source(str(upstream.work), ref="main")


def test_token_or_key_with_the_wrong_transport(upstream: Upstream, cache_dir: Path) -> None:
    with pytest.raises(ConfigurationError, match="a token only works with https"):
        _source(upstream, cache_dir, token="abcd-token").resolve()
    with pytest.raises(ConfigurationError, match="does not look like a private key"):
        _source(upstream, cache_dir, ssh_key="/home/me/.ssh/id_ed25519")


def test_git_locks_left_by_a_killed_update_do_not_block_the_next_one(
    upstream: Upstream, cache_dir: Path
) -> None:
    source = _source(upstream, cache_dir)
    checkout = source.resolve().project_dir
    for name in ("index.lock", "shallow.lock", "HEAD.lock"):
        (checkout / ".git" / name).write_text("")
    pushed = upstream.commit({"models/after_kill.sql": "select 1"}, "after kill")
    assert source.ensure_newest().commit_sha == pushed
    assert (checkout / "models" / "after_kill.sql").is_file()


def test_force_pushed_branch_is_followed(upstream: Upstream, cache_dir: Path) -> None:
    source = _source(upstream, cache_dir, ref="main")
    source.resolve()
    upstream.commit({"models/doomed.sql": "select 1"}, "doomed")
    assert (source.ensure_newest().project_dir / "models" / "doomed.sql").is_file()
    git("reset", "-q", "--hard", "HEAD~1", cwd=upstream.work)
    rewritten = upstream.commit({"models/rewritten.sql": "select 2"}, "rewritten", push=False)
    git("push", "-q", "--force", "origin", "main", cwd=upstream.work)
    resolved = source.ensure_newest()
    assert resolved.commit_sha == rewritten
    assert not (resolved.project_dir / "models" / "doomed.sql").exists()


def test_deleted_branch_is_an_error_even_in_stale_mode(upstream: Upstream, cache_dir: Path) -> None:
    upstream.switch("feature", create=True)
    upstream.commit({"models/feature.sql": "select 1"}, "feature")
    source = _source(upstream, cache_dir, ref="feature", allow_stale=True)
    source.resolve()
    git("push", "-q", "origin", "--delete", "feature", cwd=upstream.work)
    with pytest.raises(PrerequisitesException, match=r"ref 'feature' does not exist .*branches: main"):
        source.ensure_newest()


@pytest.mark.parametrize("ref", ["--upload-pack=touch pwned", "main..dev", "a b", "HEAD^", "x:y"])
def test_refs_that_git_could_misread_are_refused(upstream: Upstream, cache_dir: Path, ref: str) -> None:
    with pytest.raises(ConfigurationError, match="is not a valid git ref"):
        _source(upstream, cache_dir, ref=ref)
    assert not cache_dir.exists() or not any(cache_dir.glob("tiny-*"))
