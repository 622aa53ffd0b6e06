"""The autofix room's option specs: what :func:`~dbt_kickoff.autofix.check_package` and
:func:`~dbt_kickoff.autofix.fix_package` accept (see :mod:`dbt_kickoff.validation`)."""

from __future__ import annotations

from dbt_kickoff.validation import FLAG, FOLDER, PATH, TEXT, PathLike, option_table

AUTOFIX_OPTIONS = option_table("autofix", {
    "package_dir": PathLike("a dbt package folder (str or os.PathLike)", optional=False),
    "output_dir": PATH,
    "in_place": FLAG,
    "dbt_version": TEXT,
    "venv_dir": FOLDER,
})
