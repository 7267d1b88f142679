"""The ATOL Web-server simulator on its own thread and event loop, so that a test can drive
agents in other processes (or its own loop) against it and read what was printed."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from sim.kkt import Device, KktSim

T = TypeVar("T")


class KktThread:
    def __init__(self, **device: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._device = device
        self.sim: KktSim | None = None

    def __enter__(self) -> KktThread:
        self._thread.start()

        async def start() -> KktSim:
            return await KktSim({"default": Device(**self._device)}).start()

        self.sim = asyncio.run_coroutine_threadsafe(start(), self.loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.sim is not None
        asyncio.run_coroutine_threadsafe(self.sim.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    @property
    def url(self) -> str:
        assert self.sim is not None
        return self.sim.url

    def call(self, fn: Callable[[Device], T]) -> T:
        """Run ``fn`` on the device in the simulator's loop (its state is that loop's)."""

        async def run() -> T:
            assert self.sim is not None
            return fn(self.sim.device())

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(10)

    def receipts(self) -> list[dict[str, Any]]:
        return self.call(lambda d: [dict(r) for r in d.receipts])
