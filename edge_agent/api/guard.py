"""The HTTP edge's own rules, before any route runs (docs/security.md):

- ``Guard`` (ASGI): the ``Host`` must be one of this server's names; a body larger than the
  limit is refused with 413 before it is read (by ``Content-Length``, or as it streams);
  a state change or a WebSocket carried by the device cookie must come from this server's
  own ``Origin`` (a cross-site form or ``text/plain`` POST changes nothing: the cookie is
  also ``SameSite=Strict``); every answer has the security headers (HSTS on TLS).
- ``CappedSocket``: the listening socket, with a cap on open connections per client address
  (HTTP, TLS handshakes and WebSockets alike), and ``guarded_protocol``: uvicorn's HTTP/1.1 with
  a deadline for a request's headers, so a flood of half-sent requests from one device cannot
  take the file descriptors the lanes need.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final
from urllib.parse import urlsplit

from edge_agent.config import Http
from edge_agent.logthrottle import ThrottledLog
from edge_agent.security.connections import ConnectionLimits
from edge_agent.security.devices import COOKIE, HEADER

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("edge_agent.api.guard")
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: routes whose bodies may be larger than ``http.max_body_bytes``: a return of up to 500 codes
LARGER_BODIES: Final = {"/api/staff/returns": 128 * 1024}
HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]
HSTS = (b"strict-transport-security", b"max-age=31536000")
#: the pages load only their own scripts, styles and data (no inline script or style, no other
#: origin, not framed); ``/docs`` (an ops page whose Swagger UI comes from a CDN) goes without
CSP = (
    b"content-security-policy",
    b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    b"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
)
NO_CSP: Final = ("/docs", "/redoc")


def allowed_hosts(settings: Http) -> frozenset[str]:
    base = urlsplit(settings.public_base_url).hostname or ""
    return frozenset({"127.0.0.1", "localhost", "::1", base, *settings.allowed_hosts})


class Refused(Exception):
    pass


class Guard:
    def __init__(self, app: App, settings: Http, tls: bool, on_refused: Callable[[str], None] | None = None) -> None:
        self.app, self.settings, self.tls = app, settings, tls
        self.on_refused = on_refused  # counts each refusal by its code (the security metric)
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
            if self.on_refused is not None:
                self.on_refused(code)
            client = (scope.get("client") or ("?",))[0]
            self._noise.warning(
                code, "refused %s %s from %s: %s", scope.get("method", "WS"), scope["path"], client, message
            )
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 4403})
                return
            await self._answer(send, status, code, message)
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        await self.app(scope, self._limited(receive, self.limit_of(scope["path"])), self._headers(send, scope["path"]))

    def limit_of(self, path: str) -> int:
        return max(self.limit, LARGER_BODIES.get(path, 0))

    def _refusal(self, scope: Scope, headers: dict[str, str], host: str) -> tuple[int, str, str] | None:
        name = host.rsplit(":", 1)[0].strip("[]") if not host.startswith("[") else host[1:].split("]", maxsplit=1)[0]
        if "*" not in self.hosts and name not in self.hosts:
            return 421, "bad_host", f"this server does not answer for {host!r}"
        length, limit = headers.get("content-length"), self.limit_of(scope["path"])
        if length is not None and (not length.isdigit() or int(length) > limit):
            return 413, "too_large", f"a request body here is at most {limit} bytes"
        method = scope.get("method", "GET")
        by_cookie = COOKIE in headers.get("cookie", "") and HEADER not in headers
        if scope["type"] == "websocket" or (method in UNSAFE and by_cookie):
            origin = headers.get("origin")
            if origin is None and scope["type"] == "http":
                return 403, "no_origin", "a change made with the device cookie must say its Origin"
            if origin is not None and not self._same_origin(origin, host):
                return 403, "bad_origin", f"requests from {origin!r} may not do this"
        if method in UNSAFE and headers.get("sec-fetch-site") == "cross-site":
            return 403, "cross_site", "a cross-site request may not change anything here"
        return None

    def _same_origin(self, origin: str, host: str) -> bool:
        origin = origin.rstrip("/")
        if origin in self.origins:
            return True
        scheme = "https" if self.tls else "http"
        return origin == f"{scheme}://{host}"

    def _limited(self, receive: Receive, limit: int) -> Receive:
        seen = 0

        async def inner() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise Refused  # a chunked body past the limit: the connection is dropped
            return message

        return inner

    def _headers(self, send: Send, path: str) -> Send:
        csp = [] if path.startswith(NO_CSP) else [CSP]

        async def inner(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = HEADERS + csp + ([HSTS] if self.tls else [])
                have = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [h for h in extra if h[0] not in have]
            await send(message)

        return inner

    @staticmethod
    async def _answer(send: Send, status: int, code: str, message: str) -> None:
        body = json.dumps({"detail": {"code": code, "message": message}}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                    *HEADERS,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class CappedSocket(socket.socket):
    """The listening socket: every connection counted at ``accept`` — before TLS, before HTTP,
    before anything is read — against ``ConnectionLimits`` (per address, in all, a share kept
    for enrolled devices) and released when its socket closes; a refused one is closed at once.
    A connection that has not finished its TLS handshake (or sent its first request's headers)
    within the header deadline is cut by ``sweep``."""

    def setup(self, limits: ConnectionLimits) -> CappedSocket:
        self.limits = limits
        self.pending: dict[int, tuple[_Counted, float]] = {}  # fd -> socket, accepted (monotonic)
        self._noise = ThrottledLog(log)
        return self

    def accept(self) -> tuple[socket.socket, Any]:
        while True:  # a refused one: take the next waiting (BlockingIOError when none is left)
            try:
                fd, addr = self._accept()  # type: ignore[attr-defined]
            except OSError as e:
                if e.errno not in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    raise
                self.limits.accept_errors += 1  # asyncio pauses accepting a moment; said once a minute
                self._noise.warning("accept", "accept: %s (%d so far)", e.strerror, self.limits.accept_errors)
                raise
            host, now = str(addr[0]), time.monotonic()
            why = self.limits.admit(host, now)
            if why is None:
                break
            os.close(fd)
            self._noise.warning(
                f"{why}:{host}",
                "closed a connection from %s (%s: %d open from it, %d in all, ceiling %d)",
                host,
                why,
                self.limits.open.get(host, 0),
                self.limits.open_total,
                self.limits.total,
            )
        conn = _Counted(self.family, self.type, self.proto, fileno=fd)
        conn.counted_as, conn.limits, conn.pending = host, self.limits, self.pending
        self.pending[fd] = (conn, now)
        return conn, addr

    @property
    def refused(self) -> int:
        """Connections closed at accept so far, for any reason."""
        return sum(self.limits.refused.values())

    @property
    def open(self) -> dict[str, int]:
        """Connections open now, per client address."""
        return self.limits.open

    def ready(self, fd: int) -> None:
        """The connection's first request has begun (its TLS handshake done)."""
        self.pending.pop(fd, None)

    def sweep(self, now: float, deadline_s: float) -> int:
        """Cut the connections still without a first request after ``deadline_s`` (a TLS
        handshake left half-open holds a descriptor until then, not asyncio's 60 s)."""
        late = [(fd, conn) for fd, (conn, at) in self.pending.items() if now - at > deadline_s]
        for fd, conn in late:
            self.pending.pop(fd, None)
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)  # the handshake fails, the transport closes it
        self.limits.handshakes_timed_out += len(late)
        return len(late)


class _Counted(socket.socket):
    counted_as: str | None = None
    limits: ConnectionLimits | None = None
    pending: dict[int, Any] | None = None

    def close(self) -> None:
        if self.counted_as is not None and self.limits is not None:
            self.limits.release(self.counted_as)
            self.counted_as = None
            if self.pending is not None:
                with contextlib.suppress(OSError):
                    self.pending.pop(self.fileno(), None)
        super().close()


def listening_socket(host: str, port: int, limits: ConnectionLimits) -> CappedSocket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, as asyncio's own servers have it: asyncio then sets TCP_NODELAY on each
    # connection (without it Nagle and delayed ACKs add 40 ms to every answer)
    sock = CappedSocket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP).setup(limits)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def guarded_protocol(header_timeout_s: float, on_ready: Callable[[int], None] | None = None) -> type[asyncio.Protocol]:
    """uvicorn's h11 protocol with a deadline for a request's headers; ``on_ready`` hears of
    each connection that got this far (its TLS handshake done), by its descriptor."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class GuardedH11(H11Protocol):
        _header_deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._header_deadline = self.loop.call_later(header_timeout_s, self._headers_late)
            sock = transport.get_extra_info("socket")
            if on_ready is not None and sock is not None:
                on_ready(sock.fileno())

        def _headers_late(self) -> None:
            if self.transport.is_closing():
                return
            try:
                if self.transport.get_protocol() is not self:
                    return  # upgraded: the connection is a WebSocket's now
            except AttributeError:  # an SSL transport already torn down (its protocol is gone)
                return
            if self.cycle is None and not self.transport.is_closing():
                self.transport.close()

        def connection_lost(self, exc: Exception | None) -> None:
            if self._header_deadline is not None:
                self._header_deadline.cancel()
            super().connection_lost(exc)

    return GuardedH11
