"""The environments room's option specs: what :func:`~dbt_kickoff.environments.get_venv` accepts (see
:mod:`dbt_kickoff.validation`)."""

from __future__ import annotations

from dbt_kickoff.validation import FLAG, FOLDER, PATH, SECONDS_OR_ZERO, TEXT, Choice, PathLike, Strings, option_table

VENV_OPTIONS = option_table("environments", {
    "dbt_version": TEXT,
    "adapters": Strings("an adapter name or a list of them", single=True),
    "venv_dir": FOLDER,
    "venv_path": PATH,
    "python": PATH,
    "index_url": TEXT,
    "find_links": Strings("a path or URL of wheels, or a list of them", single=True, paths=True),
    "no_index": FLAG,
    "installer": Choice("one of 'auto', 'uv', 'pip'", optional=False, choices=("auto", "uv", "pip")),
    "lock_timeout": SECONDS_OR_ZERO,
    "drivers": PathLike("a folder path (str or os.PathLike) holding dbt v2's database drivers"),
})
