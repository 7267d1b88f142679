"""Drain the store's outbox to the broker with QoS 1, and keep every row until central has
confirmed it (docs/mqtt.md "Delivery guarantees").

Rows are published oldest first through a bounded window of unacknowledged rows (a lane's
rows that wait together go as one message, a CloudEvents batch: ``wire/batches.py``,
``batch_events``, ``linger_s``): the PUBACK is the flow control. It is not the guarantee: a
broker keeps an acknowledged message in memory until its next autosave, and a bridge drops
what it holds when it is cut. So a row stays in the outbox, unconfirmed, until central's
event sink says it stored it (by event id, on the agent's response topic); a row
acknowledged but not confirmed within ``confirm_timeout_s`` is sent again with the same id
(central keeps one), and a row central asks for again (a gap in a basket's ``seq``) is
re-sent while it is kept. Confirmed rows are kept ``retention_s`` for such replays, then
pruned; an unconfirmed one never is.

A broker restart or a WAN outage only stalls the window: paho sends the unacknowledged
messages again after it reconnects, and the rows behind them wait in SQLite, not in memory.
A crash loses nothing either: a row published but not acknowledged is still unsent and goes
again at the next start. A row the broker refuses (PUBACK >= 0x80, e.g. not authorised) is
counted and left for an operator.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time

from edge_agent.db import Outbox, StoreError
from edge_agent.sync.mqtt import MqttLink
from edge_agent.wire.batches import pack

log = logging.getLogger("edge_agent.sync.publisher")


class OutboxPublisher:
    def __init__(
        self,
        outbox: Outbox,
        link: MqttLink,
        *,
        window: int = 2000,
        batch: int = 500,
        poll_s: float = 0.25,
        confirm_timeout_s: float = 30.0,
        retention_s: float = 7 * 86400.0,
        batch_events: int = 100,
        linger_s: float = 0.0,
    ) -> None:
        self.outbox, self.link = outbox, link
        self.window, self.batch, self.poll_s = window, batch, poll_s
        #: a lane's waiting rows go in one message, up to this many; ``linger_s``: a row waits
        #: this long for others to join it (0: what is waiting when the publisher looks)
        self.batch_events, self.linger_s = batch_events, linger_s
        self.messages = 0  # MQTT messages published (a batch is one)
        self.confirm_timeout_s, self.retention_s = confirm_timeout_s, retention_s
        self.delivered = 0
        self.refused = 0
        self.resent = 0  # rows sent again: unconfirmed past the timeout, or asked for again
        self._next_sweep = 0.0
        self._cursor = 0  # highest row id handed to the link in this run
        self._inflight: set[int] = set()
        self._acked: list[int] = []
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._flush_scheduled = False
        self._loop: asyncio.AbstractEventLoop | None = None

    def kick(self) -> None:
        """New rows are in the outbox (thread-safe; the store calls it after a commit)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    @property
    def depth(self) -> int:
        return self.outbox.depth()

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        try:
            while True:
                await self.link.connected.wait()
                room = self.window - len(self._inflight)
                if room <= 0:
                    self._room.clear()
                    await self._room.wait()
                    continue
                self._sweep()
                rows = self._unsent(room)
                if not rows:
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self.poll_s)
                    continue
                if self.linger_s > 0 and len(rows) < min(room, self.batch_events):
                    await asyncio.sleep(self.linger_s)  # let others join the batch
                    rows = self._unsent(room)
                    if not rows:
                        continue
                for message in pack(rows, self.batch_events):
                    self._inflight.update(message.rows)
                    self.messages += 1
                    done = functools.partial(self._on_ack, message.rows)
                    self.link.publish(message.topic, message.payload).add_done_callback(done)
                self._cursor = rows[-1][0]
                await asyncio.sleep(0)
        finally:
            self._flush()

    def _unsent(self, room: int) -> list[tuple[int, str, str]]:
        return [r for r in self.outbox.unsent_raw(min(room, self.batch), self._cursor) if r[0] not in self._inflight]

    def rewind(self, row_ids: list[int]) -> None:
        """These rows are unsent again (``requeue``): send them, ahead of what was next."""
        if row_ids:
            self.resent += len(row_ids)
            self._cursor = min(self._cursor, row_ids[0] - 1)
            self._wake.set()

    def _sweep(self) -> None:
        """Once a second: rows acknowledged but never confirmed go again; old confirmed rows go."""
        now = time.monotonic()
        if now < self._next_sweep:
            return
        self._next_sweep = now + 1.0
        try:
            now = time.time()
            self.rewind(self.outbox.requeue_unconfirmed(now - self.confirm_timeout_s, now))
            self.outbox.prune(time.time() - self.retention_s)
        except StoreError:
            pass  # a full disk: the next sweep tries again

    def _on_ack(self, row_ids: list[int], fut: asyncio.Future[int]) -> None:
        self._inflight.difference_update(row_ids)
        if fut.cancelled() or fut.exception() is not None:
            return  # the link stopped: the rows are still unsent in SQLite
        if fut.result() >= 0x80:
            self.refused += len(row_ids)
            log.error(
                "broker refused outbox rows %d..%d (reason code 0x%02x); left unsent",
                row_ids[0],
                row_ids[-1],
                fut.result(),
            )
        else:
            self._acked.extend(row_ids)
        self._room.set()
        if not self._flush_scheduled and self._loop is not None:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if self._acked:
            acked, self._acked = self._acked, []
            try:
                self.outbox.mark_sent(acked)
            except StoreError:  # a full disk: marked at the next flush (a repeat is deduplicated downstream)
                self._acked = acked + self._acked
                return
            self.delivered += len(acked)

    async def drained(self, timeout_s: float, confirmed: bool = False) -> bool:
        """Wait until the outbox is empty (tests, graceful shutdown); ``confirmed``: and central
        has confirmed every row."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.outbox.depth() == 0 and (not confirmed or self.outbox.unconfirmed()[0] == 0):
                return True
            await asyncio.sleep(0.02)
        return False
