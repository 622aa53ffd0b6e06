"""Moving dbt's parse state to another project folder: exactly the ``root_path``/``project_root`` values at or
below the old folder change, whatever their length class in msgpack, and everything else stays byte for byte."""

from __future__ import annotations

import msgpack
import pytest

from dbt_kickoff.warm.relocate import relocate

OLD = "/home/a/clone"


def state(root: str) -> dict[str, object]:
    """The shape dbt writes: files with a FilePath, a seed with a root_path, text that mentions the folder."""
    return {
        "files": {
            "shop://models/a.sql": {"path": {"searched_path": "models", "relative_path": "a.sql",
                                             "project_root": root}, "contents": f"-- {root}"},
            "dbt_utils://macros/x.sql": {"path": {"project_root": f"{root}/dbt_packages/dbt_utils"}},
            "dbt://macros/y.sql": {"path": {"project_root": "/usr/lib/site-packages/dbt/include"}},
        },
        "nodes": {"seed.shop.s": {"root_path": root, "raw_code": f"{root}/seeds/s.csv", "size": 7},
                  "seed.shop.t": {"root_path": f"{root}-other"}},
        "list": [root, 1, 2.5, None, True, b"\x00bin"],
    }


@pytest.mark.parametrize("new", ["/b", "/srv/" + "x" * 40, "/srv/" + "y" * 300, "/srv/" + "z" * 70000])
def test_paths_below_the_old_folder_move_and_nothing_else_changes(new: str) -> None:
    moved, count = relocate(msgpack.packb(state(OLD)), OLD, new)
    expected = state(OLD)
    expected["files"]["shop://models/a.sql"]["path"]["project_root"] = new  # type: ignore[index]
    expected["files"]["dbt_utils://macros/x.sql"]["path"]["project_root"] = f"{new}/dbt_packages/dbt_utils"  # type: ignore[index]
    expected["nodes"]["seed.shop.s"]["root_path"] = new  # type: ignore[index]
    assert msgpack.unpackb(moved) == expected
    assert count == 3


def test_the_same_folder_or_another_folder_leaves_the_state_as_it_is() -> None:
    data = msgpack.packb(state(OLD))
    assert relocate(data, OLD, OLD) == (data, 0)
    assert relocate(data, "/nowhere", "/b") == (data, 0)
