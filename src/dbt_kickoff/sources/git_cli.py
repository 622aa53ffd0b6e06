"""Run one git command with an explicit environment, and sort its failures into what the caller must fix."""

from __future__ import annotations

import enum
import functools
import logging
import re
import subprocess
from collections.abc import Sequence
from pathlib import Path

from dbt_kickoff.errors import PrerequisitesException
from dbt_kickoff.processes import stop_process
from dbt_kickoff.sources.git_auth import GitEnvironment

logger = logging.getLogger("dbt_kickoff.sources.git")


class Failure(enum.Enum):
    """Why a git command failed."""

    AUTH = "auth"
    HOST_KEY = "host_key"
    REPOSITORY_MISSING = "repository_missing"
    REF_MISSING = "ref_missing"
    NETWORK = "network"
    LOCAL = "local"


# first match wins; patterns are matched against git's stderr (LC_ALL=C)
_PATTERNS: tuple[tuple[Failure, re.Pattern[str]], ...] = (
    (
        Failure.HOST_KEY,
        re.compile(
            r"Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|"
            r"host key is known for .* strict checking",
            re.I,
        ),
    ),
    (
        Failure.AUTH,
        re.compile(
            r"Permission denied \(|Authentication failed|could not read (Username|Password)|"
            r"returned error: 40[13]|Load key .*: (invalid format|incorrect passphrase)|"
            r"error in libcrypto|Too many authentication failures",
            re.I,
        ),
    ),
    (
        Failure.REF_MISSING,
        re.compile(
            r"couldn't find remote ref|not our ref|unadvertised object|"
            r"no such remote ref|invalid refspec|Remote branch .* not found",
            re.I,
        ),
    ),
    (
        Failure.REPOSITORY_MISSING,
        re.compile(
            r"does not appear to be a git repository|repository '.*' not found|"
            r"returned error: 404|not exported|No such file or directory|"
            r"repository not found|not a git repository",
            re.I,
        ),
    ),
    (
        Failure.NETWORK,
        re.compile(
            r"unable to access|Could not resolve|Connection (refused|reset|timed out|closed)|"
            r"connect to host|Failed to connect|timed out|early EOF|unexpected disconnect|"
            r"returned error: 5\d\d|Network is unreachable|the remote end hung up|"
            r"Could not read from remote repository|RPC failed",
            re.I,
        ),
    ),
)


class GitCommandError(Exception):
    """A git command failed; ``detail`` is its stderr with secrets already masked."""

    def __init__(self, args: Sequence[str], returncode: int, detail: str, failure: Failure) -> None:
        super().__init__(f"git {' '.join(args)} failed ({returncode}): {detail}")
        self.git_args = list(args)
        self.returncode = returncode
        self.detail = detail
        self.failure = failure


def classify(stderr: str) -> Failure:
    """The most specific :class:`Failure` that git's message points at."""
    for failure, pattern in _PATTERNS:
        if pattern.search(stderr):
            return failure
    return Failure.LOCAL


def run_git(
    args: Sequence[str],
    git_env: GitEnvironment,
    *,
    cwd: Path | None = None,
    timeout: float | None = None,
) -> str:
    """Run ``git args`` and return its stdout; raise :class:`GitCommandError` (secrets masked) on failure."""
    try:
        process = subprocess.Popen(
            ["git", *args],
            cwd=cwd,
            env=git_env.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            start_new_session=True,  # its own process group: a timeout also stops ssh / remote helpers
        )
    except FileNotFoundError:
        raise PrerequisitesException(
            "git is not installed (or not on PATH); install it to use packages from git repositories"
        ) from None
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop_group(process)
        raise GitCommandError(args, -1, f"timed out after {timeout:g} s", Failure.NETWORK) from None
    except BaseException:  # KeyboardInterrupt and friends: leave no git behind
        _stop_group(process)
        raise
    completed = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    if completed.returncode != 0:
        output = completed.stderr.strip() or completed.stdout.strip()
        detail = git_env.redact(" ".join(line.strip() for line in output.splitlines() if line.strip()))
        logger.debug("git %s failed: %s", args[0], detail)
        raise GitCommandError(args, completed.returncode, detail, classify(detail))
    return completed.stdout


@functools.lru_cache(maxsize=1)
def git_version() -> tuple[int, ...]:
    """The installed git's version, e.g. ``(2, 39, 5)``."""
    try:
        output = subprocess.run(["git", "--version"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        raise PrerequisitesException(
            "git is not installed (or not on PATH); install it to use packages from git repositories"
        ) from None
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", output)
    return tuple(int(part) for part in match.groups() if part) if match else (0,)


def require_git(minimum: tuple[int, ...], feature: str) -> None:
    """Raise :class:`PrerequisitesException` when the installed git is older than ``minimum``."""
    if git_version() < minimum:
        wanted = ".".join(map(str, minimum))
        found = ".".join(map(str, git_version()))
        raise PrerequisitesException(f"{feature} needs git {wanted} or newer, but git {found} is installed")


def _stop_group(process: subprocess.Popen[str]) -> None:
    """SIGINT first (git removes its lock files), then a kill of the group; drain the pipes."""
    stop_process(process, 2.0, group=True)
    process.communicate()
