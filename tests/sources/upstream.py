"""Real git repositories for the tests: a bare upstream and a work tree that commits and pushes to it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

GIT_TEST_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_TERMINAL_PROMPT": "0",
}

PROJECT_FILES = {
    "dbt_project.yml": "name: tiny\nversion: '1.0'\nconfig-version: 2\nprofile: tiny\n",
    "models/one.sql": "select 1 as id\n",
    "analytics/other/dbt_project.yml": (
        "name: other\nversion: '1.0'\nconfig-version: 2\nprofile: other_profile\n"
    ),
    "analytics/other/models/two.sql": "select 2 as id\n",
    "docs/README.md": "no dbt project here\n",
}


def git(*args: str, cwd: Path | None = None) -> str:
    """Run a git command for the test fixtures; fail loudly."""
    completed = subprocess.run(
        ["git", *args], cwd=cwd, env=GIT_TEST_ENV, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {completed.stderr}")
    return completed.stdout.strip()


class Upstream:
    """A bare repository at ``bare`` (what the source clones) and ``work`` (where the test commits)."""

    def __init__(self, root: Path, name: str = "tiny") -> None:
        self.bare = root / f"{name}.git"
        self.work = root / f"{name}-work"
        git("init", "-q", "--bare", "-b", "main", str(self.bare))
        git("init", "-q", "-b", "main", str(self.work))
        git("remote", "add", "origin", str(self.bare), cwd=self.work)

    @property
    def file_url(self) -> str:
        return self.bare.as_uri()

    def commit(self, files: dict[str, str], message: str = "change", *, push: bool = True) -> str:
        """Write ``files``, commit them on the current branch, push, and return the new sha."""
        for name, content in files.items():
            path = self.work / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
        git("add", "-A", cwd=self.work)
        git("commit", "-q", "-m", message, cwd=self.work)
        if push:
            self.push()
        return self.head()

    def head(self) -> str:
        return git("rev-parse", "HEAD", cwd=self.work)

    def push(self) -> None:
        git("push", "-q", "--all", "origin", cwd=self.work)
        git("push", "-q", "--tags", "origin", cwd=self.work)

    def tag(self, name: str) -> None:
        git("tag", "-a", name, "-m", name, cwd=self.work)
        self.push()

    def switch(self, branch: str, *, create: bool = False) -> None:
        git("switch", "-q", *(["-c"] if create else []), branch, cwd=self.work)
