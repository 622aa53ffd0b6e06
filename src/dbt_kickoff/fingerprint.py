"""What a dbt project's files hold, by content: one digest over every file dbt reads, the content hash of each
large file (dbt keeps only the path of a seed over 1 MiB as its checksum), and which ``env_var()`` names each
file reads (dbt's ``state:modified`` compares neither).

A file counts by its path and content, never by its modification time: touching a file changes nothing, and
an edit that keeps size and time is still seen. Reading and hashing every file of a 1,000-model project takes
tens of milliseconds.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

ALWAYS_SKIPPED = frozenset({".git", "__pycache__", "node_modules", ".venv", "venv", ".mypy_cache", ".pytest_cache"})
LARGE_FILE = 1024 * 1024
"""dbt's limit: a seed above it is compared by its path only (``state:modified`` "assumes they are the same")."""
DYNAMIC = "*"
"""The name recorded for an ``env_var()`` whose name is computed (it cannot be checked)."""
_TEXT_SUFFIXES = frozenset({".sql", ".yml", ".yaml", ".py", ".jinja", ".jinja2", ".md"})
_ENV_VAR = re.compile(r"""env_var\(\s*(?:(['"])([^'"]+)\1|(?P<dynamic>[^'"\s)]))""")


@dataclass(frozen=True)
class ProjectFiles:
    """``digest``: changes with any file's path or content; ``large_files``: relative path -> content hash of the
    files over 1 MiB; ``env_vars``: env var name -> relative paths that read it (:data:`DYNAMIC` for a computed
    name). Paths outside the project are named by the configured folder they were found under."""

    digest: str
    large_files: dict[str, str] = field(default_factory=dict)
    env_vars: dict[str, list[str]] = field(default_factory=dict)


def env_var_names(text: str) -> set[str]:
    """The ``env_var()`` names ``text`` reads (:data:`DYNAMIC` for one whose name is computed)."""
    return {match.group(2) if match.group(2) else DYNAMIC for match in _ENV_VAR.finditer(text)}


def _files(root: Path, skip_top: Iterable[str]) -> list[tuple[str, str]]:
    """(relative path, full path) of every file below ``root``, sorted, linked folders followed (once each);
    hidden folders and ALWAYS_SKIPPED are left out at every level, ``skip_top`` at the top."""
    skipped = set(skip_top)
    found: list[tuple[str, str]] = []
    root_text = str(root)
    seen: set[str] = set()
    for folder, dirs, files in os.walk(root, followlinks=True):  # dbt deps links a local: package in
        real = os.path.realpath(folder)
        if real in seen:  # a link back up: each folder is read once
            dirs[:] = []
            continue
        seen.add(real)
        at_top = folder == root_text
        dirs[:] = sorted(d for d in dirs if d not in ALWAYS_SKIPPED and not d.startswith(".")
                         and not (at_top and d in skipped))
        relative = os.path.relpath(folder, root)
        for name in sorted(files):
            found.append((os.path.normpath(os.path.join(relative, name)), os.path.join(folder, name)))
    return found


def scan_project(project_dir: Path, skip_dirs: Iterable[str] = (),
                 outside: Mapping[str, Path] | None = None) -> ProjectFiles:
    """Read every file dbt may read: below ``project_dir`` (without the top-level folders ``skip_dirs`` dbt writes
    into; installed packages count) and below each folder of ``outside`` (configured paths that lie outside the
    project, named by their configured text)."""
    digest = hashlib.blake2b(digest_size=16)
    large: dict[str, str] = {}
    env_vars: dict[str, list[str]] = {}
    roots = [("", project_dir, tuple(skip_dirs)),
             *((f"<{name}>", path, ()) for name, path in sorted((outside or {}).items()))]
    for prefix, root, skip in roots:
        for relative, full in _files(root, skip):
            name = f"{prefix}/{relative}" if prefix else relative
            try:
                content = Path(full).read_bytes()
            except (FileNotFoundError, IsADirectoryError):
                continue  # removed while we looked: the next call sees the folder as it is then
            file_hash = hashlib.blake2b(content, digest_size=16).hexdigest()
            digest.update(f"{name}\0{file_hash}\n".encode())
            if len(content) > LARGE_FILE:
                large[name] = file_hash
            if Path(name).suffix in _TEXT_SUFFIXES and b"env_var" in content:
                for variable in env_var_names(content.decode("utf-8", errors="replace")):
                    env_vars.setdefault(variable, []).append(name)
    return ProjectFiles(digest.hexdigest(), large, env_vars)
