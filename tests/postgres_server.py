"""A real PostgreSQL server for the tests: initdb + pg_ctl on a free loopback port, torn down afterwards."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

PG_BIN_CANDIDATES = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def _pg_tool(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for folder in PG_BIN_CANDIDATES:
        if (folder / name).exists():
            return str(folder / name)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresServer:
    host: str
    port: int
    user: str
    password: str
    dbname: str
    data_dir: Path

    def url(self, password: str | None = None) -> str:
        return f"postgresql://{self.user}:{password or self.password}@{self.host}:{self.port}/{self.dbname}"

    def credentials(self) -> dict[str, object]:
        return {
            "type": "postgres", "host": self.host, "port": self.port, "user": self.user,
            "password": self.password, "dbname": self.dbname,
        }


def start_postgres(password: str = "s3cr3t-Pg-pass!") -> tuple[PostgresServer, object]:
    """Start a throwaway server; returns it and a stop callable. Runs as the postgres user when root."""
    initdb, pg_ctl = _pg_tool("initdb"), _pg_tool("pg_ctl")
    if not initdb or not pg_ctl:
        raise RuntimeError("initdb/pg_ctl not found: install Debian's postgresql package (.ci/run does)")
    root = Path(tempfile.mkdtemp(prefix="kickoff-pg-"))
    data_dir = root / "data"
    pwfile = root / "pw"
    pwfile.write_text(password)
    port = _free_port()
    as_user: list[str] = []
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres")
        shutil.chown(pwfile, "postgres")
    subprocess.run(
        [*as_user, initdb, "-D", str(data_dir), "-U", "kickoff", "--auth=scram-sha-256", f"--pwfile={pwfile}",
         "-E", "UTF8", "--no-sync"],
        check=True, capture_output=True,
    )
    pwfile.unlink()
    opts = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off -c full_page_writes=off"
    subprocess.run(
        [*as_user, pg_ctl, "-D", str(data_dir), "-o", opts, "-l", str(root / "log"), "-w", "start"],
        check=True, capture_output=True,
    )
    server = PostgresServer("127.0.0.1", port, "kickoff", password, "postgres", data_dir)

    def stop() -> None:
        subprocess.run([*as_user, pg_ctl, "-D", str(data_dir), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)

    return server, stop
