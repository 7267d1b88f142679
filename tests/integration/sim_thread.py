"""A simulator on its own thread and event loop, so that agents in other processes (or a test's
own loop) can talk to it while the test reads its state on the simulator's loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Generic, Protocol, Self, TypeVar

T = TypeVar("T")


class Sim(Protocol):
    @property
    def url(self) -> str: ...

    async def stop(self) -> None: ...


S = TypeVar("S", bound=Sim)


class SimThread(Generic[S]):
    def __init__(self, start: Callable[[], Awaitable[S]]) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._start = start
        self.sim: S | None = None

    def __enter__(self) -> Self:
        self._thread.start()

        async def start() -> S:
            return await self._start()

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

    def on_loop(self, fn: Callable[[S], T]) -> T:
        """Run ``fn`` on the simulator in its loop (its state is that loop's) and return its result."""

        async def run() -> T:
            assert self.sim is not None
            return fn(self.sim)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(10)
