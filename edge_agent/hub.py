"""Basket changes to WebSocket clients, per lane. Each client has a small queue holding only
"something changed" (and when the read that caused it happened); the sender renders the
latest view, so a slow client never sees stale states and never holds memory."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable


class Hub:
    def __init__(self) -> None:
        self._clients: dict[str, set[asyncio.Queue[float | None]]] = defaultdict(set)

    def subscribe(self, lane: str) -> asyncio.Queue[float | None]:
        queue: asyncio.Queue[float | None] = asyncio.Queue(maxsize=1)
        self._clients[lane].add(queue)
        return queue

    def unsubscribe(self, lane: str, queue: asyncio.Queue[float | None]) -> None:
        self._clients[lane].discard(queue)

    def notify(self, lane: str, read_at: float | None = None) -> None:
        for queue in self._clients.get(lane, ()):
            if queue.full():
                continue  # a change is already pending: the sender will render the latest state
            queue.put_nowait(read_at)

    def notify_all(self, lanes: Iterable[str]) -> None:
        for lane in lanes:
            self.notify(lane)

    def clients(self, lane: str) -> int:
        return len(self._clients.get(lane, ()))
