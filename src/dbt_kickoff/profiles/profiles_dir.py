"""A private temporary ``profiles.yml`` for one run: folder 0700, file 0600, removed by ``cleanup()``."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import weakref
from pathlib import Path
from types import TracebackType

import yaml

from dbt_kickoff.errors import ConfigurationError
from dbt_kickoff.profiles.model import Profile

PROFILES_FILE = "profiles.yml"
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


class ProfilesDir:
    """Writes ``profiles.yml`` for ``profile`` (secrets only as ``env_var()`` references) in a private folder.

    Pass :attr:`path` as ``--profiles-dir`` and ``profile.secret_env`` as extra environment of dbt's process.
    The folder is removed by :meth:`cleanup`, on leaving a ``with`` block, or at interpreter exit.
    """

    def __init__(self, profile: Profile, profile_name: str, target: str = "kickoff") -> None:
        for what, value in (("profile_name", profile_name), ("target", target)):
            if not isinstance(value, str) or not _NAME.match(value):
                raise ConfigurationError(
                    f"{what} {value!r} is not usable as a dbt {what.split('_')[0]} name: use letters, "
                    "digits, '_', '-' or '.'"
                )
        self.profile_name = profile_name
        self.target = target
        folder = Path(tempfile.mkdtemp(prefix="dbt-kickoff-profiles-"))  # mkdtemp creates it 0700
        self._finalizer = weakref.finalize(self, shutil.rmtree, str(folder), True)
        try:
            os.chmod(folder, 0o700)
            content = {profile_name: {"target": target, "outputs": {target: dict(profile.output)}}}
            text = yaml.safe_dump(content, sort_keys=False, default_flow_style=False, allow_unicode=True)
            fd = os.open(folder / PROFILES_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
        except BaseException:
            self._finalizer()
            raise
        self.path = folder

    @property
    def file(self) -> Path:
        return self.path / PROFILES_FILE

    def cleanup(self) -> None:
        """Remove the folder; safe to call more than once."""
        self._finalizer()

    def __enter__(self) -> ProfilesDir:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.cleanup()

    def __repr__(self) -> str:
        return f"ProfilesDir({str(self.path)!r}, profile_name={self.profile_name!r}, target={self.target!r})"
