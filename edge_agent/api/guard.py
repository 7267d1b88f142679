"""The HTTP edge's own rules, before any route runs (docs/security.md):

- ``Guard`` (ASGI): the ``Host`` must be one of this server's names; a body larger than the
  limit is refused with 413 before it is read (by ``Content-Length``, or as it streams);
  a state change or a WebSocket carried by the device cookie must come from this server's
  own ``Origin`` (a cross-site form or ``text/plain`` POST changes nothing: the cookie is
  also ``SameSite=Strict``); every answer has the security headers (HSTS on TLS).
- ``guarded_protocol``: uvicorn's HTTP/1.1 protocol with a cap on open connections per client
  address (HTTP and WebSocket alike) and a deadline for a request's headers, so a flood of
  half-sent requests from one device cannot take the file descriptors the lanes need.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from edge_agent.config import Http
from edge_agent.logthrottle import ThrottledLog
from edge_agent.security.devices import COOKIE, HEADER

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("edge_agent.api.guard")
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
HEADERS = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
           (b"referrer-policy", b"no-referrer"), (b"cache-control", b"no-store")]  # fmt: skip
HSTS = (b"strict-transport-security", b"max-age=31536000")


def allowed_hosts(settings: Http) -> frozenset[str]:
    base = urlsplit(settings.public_base_url).hostname or ""
    return frozenset({"127.0.0.1", "localhost", "::1", base, *settings.allowed_hosts})


class Refused(Exception):
    pass


class Guard:
    def __init__(self, app: App, settings: Http, tls: bool) -> None:
        self.app, self.settings, self.tls = app, settings, tls
        self.hosts = allowed_hosts(settings)
        self.origins = frozenset(o.rstrip("/") for o in settings.allowed_origins)
        self.limit = settings.max_body_bytes
        self.refused: dict[str, int] = {}
        self._noise = ThrottledLog(log)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "")
        why = self._refusal(scope, headers, host)
        if why is not None:
            status, code, message = why
            self.refused[code] = self.refused.get(code, 0) + 1
            client = (scope.get("client") or ("?",))[0]
            self._noise.warning(code, "refused %s %s from %s: %s", scope.get("method", "WS"), scope["path"], client,
                                message)  # fmt: skip
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 4403})
                return
            await self._answer(send, status, code, message)
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        await self.app(scope, self._limited(receive), self._headers(send))

    def _refusal(self, scope: Scope, headers: dict[str, str], host: str) -> tuple[int, str, str] | None:
        name = host.rsplit(":", 1)[0].strip("[]") if not host.startswith("[") else host[1:].split("]", maxsplit=1)[0]
        if "*" not in self.hosts and name not in self.hosts:
            return 421, "bad_host", f"this server does not answer for {host!r}"
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            return 413, "too_large", f"a request body is at most {self.limit} bytes"
        method = scope.get("method", "GET")
        by_cookie = COOKIE in headers.get("cookie", "") and HEADER not in headers
        if scope["type"] == "websocket" or (method in UNSAFE and by_cookie):
            origin = headers.get("origin")
            if origin is None and scope["type"] == "http":
                return 403, "no_origin", "a change made with the device cookie must say its Origin"
            if origin is not None and not self._same_origin(origin, host, scope):
                return 403, "bad_origin", f"requests from {origin!r} may not do this"
        if method in UNSAFE and headers.get("sec-fetch-site") == "cross-site":
            return 403, "cross_site", "a cross-site request may not change anything here"
        return None

    def _same_origin(self, origin: str, host: str, scope: Scope) -> bool:
        origin = origin.rstrip("/")
        if origin in self.origins:
            return True
        scheme = "https" if self.tls else "http"
        return origin == f"{scheme}://{host}"

    def _limited(self, receive: Receive) -> Receive:
        seen = 0

        async def inner() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise Refused  # a chunked body past the limit: the connection is dropped
            return message

        return inner

    def _headers(self, send: Send) -> Send:
        async def inner(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = HEADERS + ([HSTS] if self.tls else [])
                have = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [h for h in extra if h[0] not in have]
            await send(message)

        return inner

    @staticmethod
    async def _answer(send: Send, status: int, code: str, message: str) -> None:
        body = json.dumps({"detail": {"code": code, "message": message}}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close"), *HEADERS]})  # fmt: skip
        await send({"type": "http.response.body", "body": body})


def guarded_protocol(max_per_client: int, header_timeout_s: float) -> type[asyncio.Protocol]:
    """uvicorn's h11 protocol, capped per client address and with a header deadline."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    open_by_client: dict[str, set[asyncio.BaseTransport]] = {}
    noise = ThrottledLog(log)

    class GuardedH11(H11Protocol):
        refused = 0

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            peer = transport.get_extra_info("peername")
            host = str(peer[0]) if peer else "?"
            mine = open_by_client.setdefault(host, set())
            for t in [t for t in mine if t.is_closing()]:  # an upgraded WebSocket's end is seen here
                mine.discard(t)
            if len(mine) >= max_per_client:
                GuardedH11.refused += 1
                noise.warning(host, "closed a connection from %s: %d open already (limit %d)", host, len(mine),
                              max_per_client)  # fmt: skip
                transport.abort()
                return
            mine.add(transport)
            super().connection_made(transport)
            self._header_deadline = self.loop.call_later(header_timeout_s, self._headers_late)

        def _headers_late(self) -> None:
            if self.cycle is None and not self.transport.is_closing():
                self.transport.close()

        def connection_lost(self, exc: Exception | None) -> None:
            peer = self.transport.get_extra_info("peername") if getattr(self, "transport", None) else None
            if peer:
                mine = open_by_client.get(str(peer[0]), set())
                mine.discard(self.transport)
                if not mine:
                    open_by_client.pop(str(peer[0]), None)
            deadline = getattr(self, "_header_deadline", None)
            if deadline is not None:
                deadline.cancel()
            if getattr(self, "conn", None) is not None and getattr(self, "transport", None) is not None:
                super().connection_lost(exc)

    return GuardedH11
