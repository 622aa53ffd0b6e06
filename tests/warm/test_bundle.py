"""A warm-state entry is one gzipped tar, checked whole before anything of it is used."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from dbt_kickoff.warm.bundle import Bundle, UnusableEntry, pack, symlinks_in


def test_an_entry_round_trips_files_and_trees(tmp_path: Path) -> None:
    tree = tmp_path / "dbt_packages"
    (tree / "utils" / "macros").mkdir(parents=True)
    (tree / "utils" / "macros" / "m.sql").write_text("{% macro m() %}1{% endmacro %}")
    (tree / "utils" / "empty").mkdir()
    (tree / "utils" / ".git").mkdir()
    (tree / "utils" / ".git" / "config").write_text("url = https://user:token@example.com/utils.git")
    data = pack({"kind": "packages", "key": "k1"}, {"package-lock.yml": b"packages: []"}, {"packages": tree})

    bundle = Bundle(data, kind="packages", key="k1")
    assert bundle.meta["kind"] == "packages" and bundle.read("package-lock.yml") == b"packages: []"
    assert bundle.names == ["package-lock.yml", "packages/utils/macros/m.sql"]  # no .git: never needed
    out = tmp_path / "out"
    assert bundle.extract("packages", out) == 1
    assert (out / "utils" / "macros" / "m.sql").read_text().startswith("{% macro")
    assert (out / "utils" / "empty").is_dir() and not (out / "utils" / ".git").exists()


@pytest.mark.parametrize(("data", "why"), [
    (b"not a tar at all", "damaged"),
    (pack({"kind": "parse", "key": "k1"}, {"x": b"1"})[:-20], "damaged"),
    (pack({"kind": "parse", "key": "other"}, {"x": b"1"}), "another parse key"),
    (pack({"kind": "packages", "key": "k1"}), "another parse key"),
])
def test_damaged_or_foreign_entries_are_refused(data: bytes, why: str) -> None:
    with pytest.raises(UnusableEntry, match=why):
        Bundle(data, kind="parse", key="k1")


def _tar_with(name: str, kind: bytes = tarfile.REGTYPE) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        meta = b'{"format": 1, "kind": "parse", "key": "k1"}'
        info = tarfile.TarInfo("warm.json")
        info.size = len(meta)
        tar.addfile(info, io.BytesIO(meta))
        member = tarfile.TarInfo(name)
        member.type = kind
        if kind == tarfile.SYMTYPE:
            member.linkname = "/etc/passwd"
        tar.addfile(member, io.BytesIO(b""))
    return buffer.getvalue()


@pytest.mark.parametrize(("name", "kind"), [("../escape", tarfile.REGTYPE), ("/abs", tarfile.REGTYPE),
                                            ("link", tarfile.SYMTYPE)])
def test_members_outside_the_entry_or_links_are_refused(name: str, kind: bytes) -> None:
    with pytest.raises(UnusableEntry, match="not a plain file"):
        Bundle(_tar_with(name, kind), kind="parse", key="k1")


def test_links_in_a_tree_are_found(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "link").symlink_to(tmp_path)
    assert symlinks_in(tmp_path) == [tmp_path / "pkg" / "link"]
