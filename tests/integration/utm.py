"""The УТМ simulator on its own thread and event loop (like ``kkt.py``), so that agents in other
processes, or a test's own loop, can sell through it and a test can read what it accepted."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from sim.utm import UtmSim

T = TypeVar("T")


class UtmThread:
    def __init__(self, **kw: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._kw = kw
        self.sim: UtmSim | None = None

    def __enter__(self) -> UtmThread:
        self._thread.start()
        self.sim = asyncio.run_coroutine_threadsafe(UtmSim(**self._kw).start(), self.loop).result(10)
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

    def call(self, fn: Callable[[UtmSim], T]) -> T:
        async def run() -> T:
            assert self.sim is not None
            return fn(self.sim)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(10)
