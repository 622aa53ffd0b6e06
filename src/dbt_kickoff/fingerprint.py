"""A cheap fingerprint of a dbt project's files, to know when a parsed manifest is still valid."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

ALWAYS_SKIPPED = frozenset({".git", "__pycache__", "node_modules", ".venv", "venv", ".mypy_cache", ".pytest_cache"})


def project_fingerprint(project_dir: Path, skip_dirs: Iterable[str] = ()) -> str:
    """Hash of every file's relative path, size and modification time below ``project_dir``.

    ``skip_dirs`` are top-level folders dbt writes into (target, logs); hidden folders and ALWAYS_SKIPPED are
    left out at every level. Installed packages (dbt_packages) count: ``dbt deps`` changes what dbt parses.
    """
    skip_top = set(skip_dirs)
    digest = hashlib.blake2b(digest_size=16)
    root_text = str(project_dir)
    for root, dirs, files in os.walk(project_dir):
        at_top = root == root_text
        dirs[:] = sorted(
            d for d in dirs if d not in ALWAYS_SKIPPED and not d.startswith(".") and not (at_top and d in skip_top)
        )
        relative = os.path.relpath(root, project_dir)
        for name in sorted(files):
            try:
                stat = os.stat(os.path.join(root, name))
            except FileNotFoundError:
                continue
            digest.update(f"{relative}/{name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()
