"""The HTTP server inside the daemon's loop: uvicorn without its own signal handlers (the
daemon owns SIGTERM and SIGINT), HTTP/1.1 capped per client address (``guard.py``), TLS when the
store's certificate is configured; it says which port it got."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from edge_agent.config import Http
from edge_agent.security.connections import ConnectionLimits

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger("edge_agent.daemon")


def _quiet_server(config: Any) -> Any:
    """uvicorn's server without its signal handlers: ``edge-agent run`` owns SIGTERM/SIGINT.
    (uvicorn is loaded only by a daemon that serves HTTP.)"""
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    return Server(config)


class HttpServer:
    """uvicorn inside the daemon: HTTP/1.1 (h11) capped per client address with a deadline for
    headers (``api/guard.py``), TLS when the store's certificate is configured, X-Forwarded-For
    believed only from the configured proxies, WebSocket messages of at most 64 KB, and
    uvicorn's own log lines rate-limited."""

    def __init__(self, app: FastAPI | Any, settings: Http, limits: ConnectionLimits | None = None) -> None:
        import uvicorn

        from edge_agent.api.guard import guarded_protocol, listening_socket
        from edge_agent.logthrottle import FloodFilter

        self.settings = settings
        self.tls = settings.tls_cert is not None
        self.flood = FloodFilter()
        for name in ("uvicorn.error", "uvicorn.asgi", "uvicorn", "asyncio"):
            logging.getLogger(name).addFilter(self.flood)
        self.limits = limits or ConnectionLimits.for_process(
            settings.max_connections_per_client, settings.max_connections
        )
        self.socket = listening_socket(settings.host, settings.port, self.limits)
        protocol = guarded_protocol(settings.header_timeout_s, self.socket.ready)
        tls: dict[str, Any] = {}
        if settings.tls_cert is not None:
            tls = {"ssl_certfile": str(settings.tls_cert), "ssl_keyfile": str(settings.tls_key or settings.tls_cert)}
        forwarded = settings.forwarded_allow_ips
        config = uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            log_level="warning",
            lifespan="off",
            access_log=False,
            ws_ping_interval=20,
            http=protocol,
            ws="websockets-sansio",
            proxy_headers=forwarded is not None,
            forwarded_allow_ips=forwarded or "",
            timeout_keep_alive=5,
            h11_max_incomplete_event_size=16 * 1024,
            ws_max_size=64 * 1024,
            ws_max_queue=8,
            server_header=False,
            **tls,
        )
        self._server = _quiet_server(config)
        self.port: int | None = None
        self.task: asyncio.Task[None] | None = None
        self._sweeper: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self._server.serve(sockets=[self.socket]), name="http")
        self._sweeper = asyncio.create_task(self._sweep(), name="http handshakes")
        while not self._server.started:
            if self.task.done():
                self.task.result()  # the port is taken, say: fail loudly
                raise RuntimeError("the HTTP server stopped at start")
            await asyncio.sleep(0.02)
        self.port = int(self._server.servers[0].sockets[0].getsockname()[1])
        log.info(
            "HTTP on %s://%s:%d (kiosk, staff, product pages, /healthz, /metrics)",
            "https" if self.tls else "http",
            self.settings.host,
            self.port,
        )

    async def _sweep(self) -> None:
        """Cut connections without a first request past the header deadline, once a second."""
        while True:
            await asyncio.sleep(min(1.0, self.settings.header_timeout_s / 2))
            self.socket.sweep(time.monotonic(), self.settings.header_timeout_s)

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        self._server.should_exit = True
        if self.task is not None:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self.task, 5)  # open WebSockets are closed; then it is cancelled
        self.socket.close()
