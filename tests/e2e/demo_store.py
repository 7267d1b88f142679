"""The demo store (simulators, daemon, HTTP) on a background thread, for tests that talk to
it the way browsers and handhelds do: over HTTP and WebSocket from the outside."""

from __future__ import annotations

import asyncio
import errno
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from edge_agent.config import Config
from sim.demo import DemoStore

T = TypeVar("T")


def until(what: str, check: Callable[[], Any], timeout_s: float = 20) -> Any:
    """Poll ``check`` until it returns something true (an observable event), or fail naming ``what``."""
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class RunningStore:
    def __init__(self, data_dir: Path, config: Config | None = None, strict: bool = False) -> None:
        self.config, self.strict = config or Config(), strict
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.store: DemoStore | None = None
        self.error: BaseException | None = None
        self._stop: asyncio.Event | None = None
        self.data_dir = data_dir
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

    def start(self, tries: int = 3) -> RunningStore:
        """Start the store; a port another test took between our pick and our bind (the
        simulators' free ports are found, then bound: a race with the other worker) is tried
        again with fresh ports."""
        self.thread.start()
        self.ready.wait(60)
        if isinstance(self.error, OSError) and self.error.errno == errno.EADDRINUSE and tries > 1:
            again = RunningStore(self.data_dir, self.config, self.strict)
            return again.start(tries - 1)
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
        return connect(
            f"wss://{self.url.removeprefix('https://')}/api/kiosk/{lane}/ws",
            ssl=ctx,
            additional_headers=headers,
            origin=origin or self.url,  # type: ignore[arg-type]
            open_timeout=30,
        )  # a loaded 2-core machine (another worker brute-forcing PINs)

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

    def place(self, lane: str, epc: str, tid: bytes = b"") -> None:
        assert self.store is not None
        reader = self.store.readers[lane]
        self.call(lambda: reader.place(epc, antenna=1, tid=tid))

    def basket(self, http: Any, lane: str) -> dict[str, Any]:
        """The lane's basket as its kiosk sees it (``http``: ``store.client()``)."""
        return dict(http.get(f"/api/kiosk/{lane}/basket").json())

    def holds(self, http: Any, lane: str, items: list[Any]) -> bool:
        """The lane's live basket holds exactly these items (not the last customer's closed one),
        and the box has settled (its total is final: checkout takes it)."""
        basket = self.basket(http, lane)
        serials = sorted((line["link"] or "").rsplit("/", 1)[-1] for line in basket["lines"])
        live = basket["state"] not in ("CLOSED", "CANCELLED", "PAID") and not basket["settling"]
        return live and serials == sorted(it.serial for it in items)

    def sell(self, http: Any, lane: str, items: list[Any], tid: bytes = b"") -> None:
        """A customer with no problem to solve: items in the box, checkout, card, items taken away."""
        for it in items:
            self.place(lane, it.epc, tid)
        until("the items on a basket of their own", lambda: self.holds(http, lane, items))
        http.post(f"/api/kiosk/{lane}/checkout", json={}).raise_for_status()
        http.post(f"/api/kiosk/{lane}/pay", json={"method": "card"}).raise_for_status()
        until("paid", lambda: self.basket(http, lane)["state"] in ("PAID", "CLOSED"))  # closed once printed
        for it in items:
            self.remove(lane, it.epc)
        until("closed", lambda: self.basket(http, lane)["state"] == "CLOSED")
        until("the items gone from the box", lambda: not self.call(lambda: self.daemon.lanes[lane].lines))

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


def open_for_alcohol() -> str:
    """A Russian time zone where alcohol may be sold for the next half hour (08:00–23:00 local):
    the law's hours hold in the demo too, so its vodka is sold by the store's day."""
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    zones = ("Europe/Kaliningrad", "Europe/Moscow", "Europe/Samara", "Asia/Yekaterinburg", "Asia/Omsk")
    zones += ("Asia/Krasnoyarsk", "Asia/Irkutsk", "Asia/Yakutsk", "Asia/Vladivostok", "Asia/Magadan", "Asia/Kamchatka")
    now = datetime.now(UTC)
    for zone in zones:
        if all(8 <= (now + timedelta(minutes=m)).astimezone(ZoneInfo(zone)).hour < 23 for m in (0, 30)):
            return zone
    raise AssertionError("eleven consecutive hours always hold one open for alcohol")
