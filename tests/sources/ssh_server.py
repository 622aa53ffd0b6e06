"""A real OpenSSH server on 127.0.0.1 for the tests: own host key, config, authorized_keys."""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

SSHD_CANDIDATES = ("/usr/sbin/sshd", "/usr/local/sbin/sshd")


def find_sshd() -> str | None:
    found = shutil.which("sshd")
    return found or next((p for p in SSHD_CANDIDATES if os.access(p, os.X_OK)), None)


def make_key(path: Path) -> str:
    """Generate an ed25519 key pair without passphrase at ``path``; return the private key text."""
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "dbt-kickoff-test", "-f", str(path)],
        check=True,
        capture_output=True,
    )
    return path.read_text()


@dataclass
class SshServer:
    port: int
    user: str
    client_key: str
    """A private key the server accepts."""
    other_key: str
    """A valid private key the server does not accept."""
    known_hosts: str
    """A known_hosts line for this server."""
    process: subprocess.Popen[bytes]

    def url(self, repo: Path) -> str:
        return f"ssh://{self.user}@127.0.0.1:{self.port}{repo}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_sshd(root: Path) -> SshServer:
    """Start sshd in the foreground on a free loopback port; raise RuntimeError when it cannot start."""
    sshd = find_sshd()
    if sshd is None:
        raise RuntimeError("sshd is not installed (apt-get install openssh-server)")
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o700)
    make_key(root / "host_key")
    client_key = make_key(root / "client_key")
    other_key = make_key(root / "other_key")
    (root / "authorized_keys").write_text((root / "client_key.pub").read_text())
    os.chmod(root / "authorized_keys", 0o600)
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation dir sshd needs as root
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = root / "sshd_config"
    config.write_text(
        "\n".join(
            [
                f"Port {port}",
                "ListenAddress 127.0.0.1",
                f"HostKey {root / 'host_key'}",
                f"AuthorizedKeysFile {root / 'authorized_keys'}",
                f"PidFile {root / 'sshd.pid'}",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "UsePAM no",
                "StrictModes no",
                "PermitRootLogin prohibit-password",
                "LogLevel ERROR",
                "",
            ]
        )
    )
    log = root / "sshd.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [sshd, "-D", "-e", "-f", str(config)], stdout=subprocess.DEVNULL, stderr=log_file
        )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"sshd exited: {log.read_text().strip()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.05)
    else:
        process.kill()
        raise RuntimeError("sshd did not start listening within 10 s")
    host_key = (root / "host_key.pub").read_text().split()
    return SshServer(
        port=port,
        user=getpass.getuser(),
        client_key=client_key,
        other_key=other_key,
        known_hosts=f"[127.0.0.1]:{port} {host_key[0]} {host_key[1]}\n",
        process=process,
    )
