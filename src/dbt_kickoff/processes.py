"""Child processes: the one place that builds their environment and the one way to stop them.

Stopping always goes the same way: SIGINT first (dbt then cancels its warehouse queries; git and ssh end),
a grace period, then SIGKILL — to the child's whole process group when it leads one, so helpers it started
(ssh, remote helpers) go with it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Mapping

# Variables of the host that would make another interpreter load the host's packages instead of its own.
HOST_ONLY_VARIABLES = ("PYTHONHOME", "PYTHONPATH", "VIRTUAL_ENV", "__PYVENV_LAUNCHER__")


def child_environment(extra: Mapping[str, str] | None = None, *, foreign_python: bool = False,
                      drop: tuple[str, ...] = ()) -> dict[str, str]:
    """The host's environment plus ``extra`` for a child process; the host's ``os.environ`` is not changed.

    ``foreign_python``: the child is another interpreter, so the host's Python path must not leak into it.
    ``drop``: further variables the child must not inherit.
    """
    env = dict(os.environ)
    for name in (*HOST_ONLY_VARIABLES, *drop) if foreign_python else drop:
        env.pop(name, None)
    env.update(extra or {})
    return env


def send_signal(process: subprocess.Popen[str] | subprocess.Popen[bytes], signum: int, *, group: bool) -> bool:
    """Signal the process (its group with ``group``); False when it is already gone. Safe in a signal handler."""
    if process.poll() is not None:
        return False
    try:
        if group:
            os.killpg(process.pid, signum)
        else:
            os.kill(process.pid, signum)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def stop_process(process: subprocess.Popen[str] | subprocess.Popen[bytes], grace: float, *, group: bool = False,
                 interrupted: bool = False) -> int:
    """SIGINT (unless ``interrupted`` already), up to ``grace`` seconds to finish, then SIGKILL; reaps it."""
    if not interrupted:
        send_signal(process, signal.SIGINT, group=group)
    try:
        return process.wait(timeout=max(grace, 0.0))
    except subprocess.TimeoutExpired:
        kill_process(process, group=group)
        return process.wait()


def kill_process(process: subprocess.Popen[str] | subprocess.Popen[bytes], *, group: bool = False) -> None:
    """SIGKILL at once (the group too with ``group``), without waiting."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if group:
            os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
        process.kill()
