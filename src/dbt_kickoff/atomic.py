"""Write a file so that readers see the old content or the new, never a half-written file."""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path


def write_atomically(path: Path, content: bytes | str, *, durable: bool = False, private: bool = True) -> Path:
    """Write ``content`` to a temporary file beside ``path`` (hidden: ``.<name>-….part``), then rename it over
    ``path``.

    ``private``: the file gets mode 0600; ``private=False`` gives it the mode any new file gets (0666 less the
    umask), for files meant to be read by others (a report). ``durable`` also flushes it to disk before the
    rename (for state that must survive a power cut). The temporary file never outlives a failure.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode("utf-8") if isinstance(content, str) else content
    if private:
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}-", suffix=".part", dir=path.parent)
    else:
        temporary = str(path.parent / f".{path.name}-{uuid.uuid4().hex[:12]}.part")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
