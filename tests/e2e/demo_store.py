"""The demo store (simulators, daemon, HTTP) on a background thread, for tests that talk to
it the way browsers and handhelds do: over HTTP and WebSocket from the outside."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from edge_agent.config import Config
from sim.demo import DemoStore

T = TypeVar("T")


class RunningStore:
    def __init__(self, data_dir: Path, config: Config | None = None, strict: bool = False) -> None:
        self.config, self.strict = config or Config(), strict
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.store: DemoStore | None = None
        self.error: BaseException | None = None
        self._stop: asyncio.Event | None = None
        self.thread = threading.Thread(target=self._main, args=(data_dir,), daemon=True)

    def _main(self, data_dir: Path) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._serve(data_dir))

    async def _serve(self, data_dir: Path) -> None:
        self._stop = asyncio.Event()
        try:
            async with DemoStore(self.config, 0, data_dir, strict=self.strict) as store:
                self.store = store
                self.ready.set()
                await self._stop.wait()
        except BaseException as e:
            self.error = e
            self.ready.set()

    def start(self) -> RunningStore:
        self.thread.start()
        self.ready.wait(60)
        if self.error is not None or self.store is None:
            raise RuntimeError(f"the demo store did not start: {self.error!r}")
        return self

    def stop(self) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self.thread.join(30)

    @property
    def url(self) -> str:
        assert self.store is not None
        return self.store.url

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the store's loop (the simulators are not thread-safe) and return its result."""

        async def run() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(10)

    def wait(self, coro: Coroutine[Any, Any, T], timeout_s: float = 30) -> T:
        """Await ``coro`` on the store's loop (a desk's state read, say) and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout_s)

    def ws(self, lane: str, origin: str | None = None) -> Any:
        """The lane's kiosk WebSocket as its browser opens it (its credential, this server's Origin)."""
        import ssl

        from websockets.sync.client import connect

        assert self.store is not None
        ctx = ssl.create_default_context(cafile=str(self.store.ca))
        headers = self.store.device_headers(f"/api/kiosk/{lane}/ws")
        return connect(f"wss://{self.url.removeprefix('https://')}/api/kiosk/{lane}/ws", ssl=ctx,
                       additional_headers=headers, origin=origin or self.url,  # type: ignore[arg-type]
                       open_timeout=30)  # a loaded 2-core machine (another worker brute-forcing PINs)  # fmt: skip

    def sms_code(self, phone: str) -> str:
        """The one-time code central texted to ``phone`` last (the simulated SMS gateway)."""
        import re
        import sqlite3

        assert self.store is not None
        conn = sqlite3.connect(self.store.data_dir / "central.db", timeout=5)
        try:
            text = conn.execute("SELECT text FROM sms WHERE phone = ? ORDER BY id DESC LIMIT 1", (phone,)).fetchone()[0]
        finally:
            conn.close()
        return str(re.findall(r"\d{6}", text)[0])

    def place(self, lane: str, epc: str) -> None:
        assert self.store is not None
        reader = self.store.readers[lane]
        self.call(lambda: reader.place(epc, antenna=1))

    def remove(self, lane: str, epc: str) -> None:
        assert self.store is not None
        reader = self.store.readers[lane]
        self.call(lambda: reader.remove(epc))

    @property
    def daemon(self) -> Any:
        assert self.store is not None
        return self.store.daemon

    @property
    def services(self) -> Any:
        assert self.store is not None
        return self.store.services
