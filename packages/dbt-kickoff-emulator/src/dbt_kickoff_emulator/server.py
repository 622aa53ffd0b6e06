"""The HTTP layer: a threading stdlib server whose handler hands every request to the dispatcher."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from dbt_kickoff_emulator.dispatch import Dispatcher
from dbt_kickoff_emulator.replies import Reply


class EmulatorHTTPServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer that carries the dispatcher and a stop event (to cut slow replies short)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], dispatcher: Dispatcher, stopping: threading.Event) -> None:
        super().__init__(address, _Handler)
        self.dispatcher = dispatcher
        self.stopping = stopping


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    wbufsize = -1  # headers and body leave in one write (flushed after each request)
    server: EmulatorHTTPServer
    server_version = "dbt-cloud-emulator"
    sys_version = ""

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        body = self._read_body()
        reply = self.server.dispatcher.handle(self.command, self.path, list(self.headers.items()), body)
        if self.server.stopping.is_set():
            self.close_connection = True
        if reply.reset:
            self._reset()
            return
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        if reply.content_type is not None:
            self.send_header("Content-Type", reply.content_type)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    def _reset(self) -> None:
        """Close with SO_LINGER 0 so the client sees a TCP reset, not a clean close."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: object) -> None:
        """Silent: the emulator records requests instead of logging them."""
