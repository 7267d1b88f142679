"""The one bounded queue between every reader and the pipeline (docs/adr/0009-lanes-are-bulkheads.md).

A fixed reader in a box reads the same few dozen tags hundreds of times a second; what the
pipeline needs is *new information*: which tags were seen, how strongly, how often. So a read
of a tag that is already waiting in the queue is folded into the waiting entry (its count
grows, its best RSSI is kept) instead of being queued again: the queue holds one entry per
(reader, antenna, carrier, identity) whatever the read rate, and a newly placed tag is never
behind thousands of copies of old ones. ``capacity`` bounds the distinct entries; a read that
finds the queue full of distinct tags is dropped and counted per reader (``/metrics``,
``/healthz``), never silently.

A folded entry keeps the time of its first read (so tag-to-basket latency is measured from
when the reader first saw the item); it is at most one consumer turn old, milliseconds
against the pipeline's departure times of a second or more.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import replace
from typing import Final

from edge_agent.reads import TagRead

CAPACITY: Final = 10_000
_Key = tuple[str, int, str, str]


class _Entry:
    __slots__ = ("best_rssi", "count", "read")

    def __init__(self, read: TagRead) -> None:
        self.read = read
        self.count = read.seen_count
        self.best_rssi = read.rssi


class ReadQueue:
    def __init__(self, capacity: int = CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("a read queue holds at least one entry")
        self.capacity = capacity
        self._entries: dict[_Key, _Entry] = {}
        self._ready = asyncio.Event()
        self.received = 0
        self.coalesced = 0
        self.dropped = 0
        self.peak_depth = 0
        self.dropped_by_reader: Counter[str] = Counter()
        self.last_drop_at: float | None = None  # monotonic time of the last drop (health: recent drops)

    @property
    def depth(self) -> int:
        return len(self._entries)

    def put(self, read: TagRead) -> bool:
        """Queue (or fold in) one read; False when it had to be dropped. Never blocks."""
        self.received += 1
        key = (read.reader_id, read.antenna, read.kind, read.raw)
        entry = self._entries.get(key)
        if entry is not None:
            entry.count += read.seen_count
            if read.rssi is not None and (entry.best_rssi is None or read.rssi > entry.best_rssi):
                entry.best_rssi = read.rssi
            self.coalesced += 1
            return True
        if len(self._entries) >= self.capacity:
            self.dropped += 1
            self.dropped_by_reader[read.reader_id] += 1
            self.last_drop_at = time.monotonic()
            return False
        self._entries[key] = _Entry(read)
        self.peak_depth = max(self.peak_depth, len(self._entries))
        if not self._ready.is_set():
            self._ready.set()
        return True

    def take(self) -> list[TagRead]:
        """Everything waiting, oldest first (folded entries as one read each); may be empty."""
        if not self._entries:
            return []
        entries, self._entries = self._entries, {}
        self._ready.clear()
        out = []
        for e in entries.values():
            read = e.read
            if e.count != read.seen_count or e.best_rssi != read.rssi:
                read = replace(read, seen_count=e.count, rssi=e.best_rssi)
            out.append(read)
        return out

    async def get_batch(self) -> list[TagRead]:
        """Wait for at least one read, then take everything waiting."""
        while not self._entries:
            self._ready.clear()
            await self._ready.wait()
        return self.take()

    def stats(self) -> dict[str, object]:
        recent = self.last_drop_at is not None and time.monotonic() - self.last_drop_at < 60
        return {
            "capacity": self.capacity,
            "depth": self.depth,
            "peak_depth": self.peak_depth,
            "received": self.received,
            "coalesced": self.coalesced,
            "dropped": self.dropped,
            "dropped_recently": recent,
            "dropped_by_reader": dict(self.dropped_by_reader),
        }
