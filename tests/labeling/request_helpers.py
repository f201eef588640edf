"""Calling the application the way servers do (WSGI, ASGI) inside a test's database transaction."""
from __future__ import annotations

import asyncio
import contextlib
from typing import Iterator

from asgiref.sync import async_to_sync
from django.core.handlers.asgi import ASGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections


@contextlib.contextmanager
def connections_kept_open() -> Iterator[None]:
    """Requests made here keep the test's database connection (and its transaction), as Django's test
    client does: no `close_old_connections` around them."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def asgi_get(path: str, *, query: str = "", token: str = "") -> tuple[int, int, int]:
    """GET `path` through Django's ASGI handler (as daphne runs it); returns (status, body bytes, body
    messages). The body is counted and dropped as it arrives, as a network client would."""
    result = {"status": 0, "bytes": 0, "messages": 0}

    async def run() -> None:
        done = asyncio.Event()
        sent_request = False

        async def receive() -> dict:
            nonlocal sent_request
            if not sent_request:
                sent_request = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            if message["type"] == "http.response.start":
                result["status"] = message["status"]
            elif message["type"] == "http.response.body":
                result["bytes"] += len(message.get("body", b""))
                result["messages"] += 1
                if not message.get("more_body"):
                    done.set()

        headers = [(b"host", b"testserver")]
        if token:
            headers.append((b"authorization", f"Token {token}".encode()))
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
                 "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query.encode(),
                 "headers": headers, "client": ("127.0.0.1", 50000), "server": ("testserver", 80)}
        await ASGIHandler()(scope, receive, send)

    with connections_kept_open():
        async_to_sync(run)()
    return result["status"], result["bytes"], result["messages"]
