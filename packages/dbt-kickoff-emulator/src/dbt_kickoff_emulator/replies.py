"""What a handler answers: a status, bytes and headers; and the exception that carries an error reply."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

HTML_ERROR_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>Server Error (500)</title></head>\n"
    "<body><h1>Server Error (500)</h1><p>Something went wrong. Please try again later.</p></body></html>\n"
)
SERVER_ERROR_DETAIL = "There was a server error. Please contact support at support@getdbt.com."


@dataclass
class Reply:
    """A complete HTTP answer; ``reset`` drops the connection instead of answering."""

    status: int
    body: bytes = b""
    content_type: str | None = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    reset: bool = False


def json_reply(status: int, payload: Any, headers: dict[str, str] | None = None) -> Reply:
    """A JSON reply."""
    return Reply(status, json.dumps(payload).encode("utf-8"), "application/json", dict(headers or {}))


def detail_reply(status: int, detail: str) -> Reply:
    """A Django-REST style ``{"detail": ...}`` reply."""
    return json_reply(status, {"detail": detail})


def html_reply(status: int) -> Reply:
    """An HTML error page."""
    return Reply(status, HTML_ERROR_PAGE.encode("utf-8"), "text/html; charset=utf-8")


class ApiError(Exception):
    """Raised by handlers to answer with ``reply``."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply
