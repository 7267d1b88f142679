"""A small JSON-over-HTTP/1.1 server on asyncio and h11, for the simulated remote services.

Hand-rolled on h11 (the sans-I/O HTTP library uvicorn uses) so that a simulator can do
what real networks do to a client: answer slowly, answer with an error status, hang
without answering, or drop the connection mid-request. Keep-alive is supported.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import h11


@dataclass
class Request:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Response:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class Hang(Exception):
    """Raise from a handler: never answer (until the client gives up)."""


class Drop(Exception):
    """Raise from a handler: close the connection without an answer."""


Handler = Callable[[Request], Awaitable[Response]]


class JsonServer:
    def __init__(self, handler: Handler, host: str = "127.0.0.1", port: int = 0) -> None:
        self.handler, self.host, self._port = handler, host, port
        self._server: asyncio.Server | None = None
        self.requests = 0

    @property
    def port(self) -> int:
        if self._server is None:
            return self._port
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self._port)
        self._port = self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = h11.Connection(h11.SERVER)
        try:
            while True:
                request = await self._read_request(conn, reader)
                if request is None:
                    return
                self.requests += 1
                try:
                    response = await self.handler(request)
                except Hang:
                    await asyncio.sleep(3600)
                    return
                except Drop:
                    writer.transport.abort()
                    return
                if isinstance(response.body, bytes):  # a service that speaks XML (the УТМ)
                    body, kind = response.body, response.headers.pop("content-type", "application/xml")
                else:
                    body, kind = (
                        b"" if response.body is None else json.dumps(response.body).encode(),
                        "application/json",
                    )
                headers = [("content-type", kind), ("content-length", str(len(body)))]
                headers += list(response.headers.items())
                writer.write(conn.send(h11.Response(status_code=response.status, headers=headers)) or b"")
                writer.write(conn.send(h11.Data(data=body)) or b"")
                writer.write(conn.send(h11.EndOfMessage()) or b"")
                await writer.drain()
                if conn.our_state is h11.MUST_CLOSE:
                    return
                conn.start_next_cycle()
        except (ConnectionError, h11.RemoteProtocolError, asyncio.CancelledError):
            return
        finally:
            writer.close()

    @staticmethod
    async def _read_request(conn: h11.Connection, reader: asyncio.StreamReader) -> Request | None:
        head: h11.Request | None = None
        body = b""
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = await reader.read(65536)
                conn.receive_data(data)
                if not data and conn.their_state is not h11.DONE:
                    return None
                continue
            if isinstance(event, h11.Request):
                head = event
            elif isinstance(event, h11.Data):
                body += bytes(event.data)
            elif isinstance(event, h11.EndOfMessage) and head is not None:
                target = head.target.decode()
                path, _, query = target.partition("?")
                headers = {k.decode().lower(): v.decode() for k, v in head.headers}
                return Request(head.method.decode(), path, query, headers, body)
            elif isinstance(event, h11.ConnectionClosed):
                return None
