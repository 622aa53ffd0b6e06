"""Hand credentials to git through its environment only: an ssh key file that lives for one call, a header.

Nothing secret goes into argv, a URL or a file that outlives the ``with`` block.
"""

from __future__ import annotations

import base64
import os
import shlex
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from dbt_kickoff.errors import ConfigurationError, PrerequisitesException
from dbt_kickoff.processes import child_environment
from dbt_kickoff.sources.git_urls import GitUrl, Redactor

HostKeyPolicy = Literal["strict", "accept-new"]
HOST_KEY_POLICIES: tuple[HostKeyPolicy, ...] = ("strict", "accept-new")
DEFAULT_TOKEN_USERNAME = "x-access-token"
_PRIVATE_PREFIX = "dbt-kickoff-ssh-"
_CLEARED = (
    "GIT_ASKPASS",
    "SSH_ASKPASS",
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
)


@dataclass(frozen=True)
class GitAccess:
    """How to authenticate to a repository. ``repr`` never shows the secrets."""

    ssh_key: str | None = field(default=None, repr=False)
    """The private key itself (OpenSSH or PEM text), not a path."""
    token: str | None = field(default=None, repr=False)
    """An https token or password, sent as HTTP basic auth."""
    username: str | None = None
    """The https user the token belongs to (default ``x-access-token``, which GitHub and others accept)."""
    known_hosts: str | Path | None = None
    """A known_hosts file, or its content; with ``strict`` the server's key must be listed there."""
    host_key_policy: HostKeyPolicy = "accept-new"
    """``strict``: only known host keys; ``accept-new``: remember a new host's key, reject a changed one."""

    def __post_init__(self) -> None:
        if self.host_key_policy not in HOST_KEY_POLICIES:
            raise ConfigurationError(
                f"host_key_policy must be one of {', '.join(HOST_KEY_POLICIES)}, not {self.host_key_policy!r}"
            )
        if self.ssh_key is not None and not _looks_like_private_key(_normalise_key(self.ssh_key)):
            raise ConfigurationError(
                "package_repository_ssh_key does not look like a private key: pass the key's text "
                "('-----BEGIN OPENSSH PRIVATE KEY----- ...'), not a path or a public key"
            )

    def check_transport(self, url: GitUrl) -> None:
        """Refuse credentials that cannot work with ``url``'s transport."""
        if (self.token or url.password) and url.transport not in ("https", "http"):
            raise ConfigurationError(
                f"a token only works with https URLs; {url.display} is {url.transport} "
                "(use package_repository_ssh_key for ssh)"
            )
        if self.ssh_key and url.transport != "ssh":
            raise ConfigurationError(
                f"an ssh key only works with ssh URLs (git@host:org/repo.git or ssh://...); {url.display} "
                f"is {url.transport}"
            )

    def secrets(self) -> list[str]:
        """The secret values given (``git_environment`` adds their encoded forms)."""
        return [v for v in (self.ssh_key, self.token) if v]


@dataclass(frozen=True)
class GitEnvironment:
    """The environment for one git call and the redactor for what it prints."""

    env: dict[str, str] = field(repr=False)
    redact: Redactor


@contextmanager
def git_environment(
    url: GitUrl,
    access: GitAccess,
    *,
    known_hosts_store: Path,
    base_env: Mapping[str, str] | None = None,
) -> Iterator[GitEnvironment]:
    """Build git's environment for ``url``; a key file, if any, is removed when the block ends.

    ``known_hosts_store`` is where ``accept-new`` remembers host keys when no ``known_hosts`` is given.
    """
    env = child_environment(drop=_CLEARED) if base_env is None else {
        k: v for k, v in base_env.items() if k not in _CLEARED}
    env.update(
        GIT_TERMINAL_PROMPT="0",
        GCM_INTERACTIVE="never",
        GIT_TRACE_REDACT="1",
        LC_ALL="C",
        LANGUAGE="C",
    )
    config: list[tuple[str, str]] = [("advice.detachedHead", "false"), ("core.hooksPath", os.devnull)]
    access.check_transport(url)
    token = access.token or url.password
    username = access.username or url.username
    secrets = [*access.secrets(), url.password]
    if token:
        # curl sends a custom Authorization header to the original host only, never across redirects
        encoded = _basic_credentials(username or DEFAULT_TOKEN_USERNAME, token)
        secrets.append(encoded)
        config.append((f"http.{_origin(url)}/.extraHeader", f"Authorization: Basic {encoded}"))
        config.append(("credential.helper", ""))
    elif username and url.transport in ("https", "http"):
        config.append(("credential.username", username))
    _add_config(env, config)
    redact = Redactor(secrets)

    if url.transport != "ssh":
        yield GitEnvironment(env=env, redact=redact)
        return
    if shutil.which("ssh", path=env.get("PATH")) is None:
        raise PrerequisitesException(
            f"{url.display} is an ssh URL but no ssh client was found; "
            "install OpenSSH (apt-get install openssh-client)"
        )
    _remove_orphaned_private_dirs()
    with tempfile.TemporaryDirectory(prefix=f"{_PRIVATE_PREFIX}{os.getpid()}-") as private_dir:
        os.chmod(private_dir, 0o700)
        options = ["-o", "BatchMode=yes", "-o", "ConnectTimeout=30"]
        if access.ssh_key:
            key_file = _write_private(Path(private_dir) / "key", _normalise_key(access.ssh_key))
            options = ["-i", str(key_file), "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", *options]
        options += _host_key_options(access, Path(private_dir), known_hosts_store)
        if access.ssh_key or "GIT_SSH_COMMAND" not in env:
            env["GIT_SSH_COMMAND"] = shlex.join(["ssh", *options])
            env["GIT_SSH_VARIANT"] = "ssh"
        yield GitEnvironment(env=env, redact=redact)


def _remove_orphaned_private_dirs() -> None:
    """Delete key folders left by processes that were killed (SIGKILL) before they could clean up."""
    for folder in Path(tempfile.gettempdir()).glob(f"{_PRIVATE_PREFIX}*-*"):
        pid = folder.name.removeprefix(_PRIVATE_PREFIX).split("-", 1)[0]
        try:
            if not pid.isdigit() or folder.stat().st_uid != os.getuid() or _process_alive(int(pid)):
                continue
        except OSError:
            continue
        shutil.rmtree(folder, ignore_errors=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _host_key_options(access: GitAccess, private_dir: Path, known_hosts_store: Path) -> list[str]:
    options = ["-o", f"StrictHostKeyChecking={'yes' if access.host_key_policy == 'strict' else 'accept-new'}"]
    known_hosts = access.known_hosts
    if known_hosts is None:
        if access.host_key_policy == "strict":
            return options  # ssh's own files (~/.ssh/known_hosts, /etc/ssh/ssh_known_hosts)
        known_hosts_store.parent.mkdir(parents=True, exist_ok=True)
        return [*options, "-o", f"UserKnownHostsFile={known_hosts_store}"]
    text = str(known_hosts)
    if isinstance(known_hosts, Path) or ("\n" not in text and " " not in text.strip()):
        path = Path(text).expanduser()
        if not path.is_file():
            raise ConfigurationError(f"known_hosts file {path} does not exist")
    else:
        path = _write_private(private_dir / "known_hosts", text.strip() + "\n")
    return [*options, "-o", f"UserKnownHostsFile={path}", "-o", "GlobalKnownHostsFile=/dev/null"]


def _add_config(env: dict[str, str], entries: list[tuple[str, str]]) -> None:
    """Append ``-c`` style settings through GIT_CONFIG_COUNT/KEY/VALUE (kept out of argv)."""
    try:
        start = int(env.get("GIT_CONFIG_COUNT", "0"))
    except ValueError:
        start = 0
    for offset, (key, value) in enumerate(entries):
        env[f"GIT_CONFIG_KEY_{start + offset}"] = key
        env[f"GIT_CONFIG_VALUE_{start + offset}"] = value
    env["GIT_CONFIG_COUNT"] = str(start + len(entries))


def _origin(url: GitUrl) -> str:
    scheme, _, rest = url.url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def _basic_credentials(username: str, token: str) -> str:
    return base64.b64encode(f"{username}:{token}".encode()).decode("ascii")


def _normalise_key(key: str) -> str:
    text = key.strip()
    if "\n" not in text and "\\n" in text:  # a key pasted into an env var or TOML with escaped newlines
        text = text.replace("\\n", "\n")
    return text.replace("\r\n", "\n") + "\n"


def _looks_like_private_key(text: str) -> bool:
    return text.startswith("-----BEGIN ") and "PRIVATE KEY-----" in text


def _write_private(path: Path, content: str) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(content)
    return path
