"""An exclusive lock on a file, held while a call works on something other processes (and threads) must not touch
at the same time: ``fcntl.flock``, released when the file is closed, so a killed holder never leaves it held. Light
enough for every runner call; where ``fcntl`` is missing, filelock's lock stands in."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def held(path: Path) -> Iterator[None]:
    """Hold the exclusive lock of ``path`` (created when missing) while the block runs; wait for it first."""
    try:
        import fcntl
    except ImportError:  # not POSIX
        from filelock import FileLock

        with FileLock(str(path)):
            yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
