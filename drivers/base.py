"""One interface for every reader: ``Reader``, the ``TagRead`` it yields, and its ``Health``.

Everything above the drivers sees only ``TagRead``, through one bounded ``ReadQueue`` that
every reader of the daemon feeds. A driver runs its own supervisor task:
it connects, reads, and when the hardware (or pcscd, or the network) goes away it reports
``offline`` with the reason and reconnects with exponential backoff and jitter, on its
own, so a lost reader never stops the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from edge_agent.readqueue import ReadQueue
from edge_agent.reads import ReadKind, TagRead

__all__ = ["Backoff", "Health", "HealthState", "ReadKind", "Reader", "ReaderGone", "TagRead", "ThreadedReader"]

log = logging.getLogger(__name__)


class HealthState(StrEnum):
    CONNECTING = "connecting"
    ONLINE = "online"
    DEGRADED = "degraded"
    OFFLINE = "offline"


@dataclass(frozen=True, slots=True)
class Health:
    state: HealthState
    reason: str = ""
    #: wall-clock seconds since this state began
    since: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, object]:
        return {"state": self.state.value, "reason": self.reason, "since": self.since}


class Backoff:
    """Exponential backoff with full jitter, capped; ``reset()`` after a good connection."""

    def __init__(
        self, initial: float = 0.5, maximum: float = 30.0, factor: float = 2.0, rng: random.Random | None = None
    ):
        self.initial, self.maximum, self.factor = initial, maximum, factor
        self._attempt = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        ceiling = min(self.maximum, self.initial * self.factor**self._attempt)
        self._attempt += 1
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

    def reset(self) -> None:
        self._attempt = 0


#: keys every reader accepted before each driver had its own settings (docs/configuration.md):
#: one that does not apply to a driver is ignored with a warning, as it always was ignored
LEGACY_KEYS: Final = frozenset({"host", "port", "path", "read_tid_words", "read_user_words"})


class ReaderSettings(BaseModel):
    """A reader's ``[[readers]]`` table: ``id``, ``driver`` (the family, the discriminator) and
    the family's own keys. A driver file declares its subclass and ``build()``s its reader."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
    driver: str
    #: customer: items (a kiosk's box or pad; a staff badge tapped here is ignored); staff: the
    #: reader of a staff handheld, where badges sign in and items are looked up, never sold
    role: Literal["customer", "staff"] = "customer"

    @model_validator(mode="before")
    @classmethod
    def _legacy_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            stale = [k for k in data if k in LEGACY_KEYS and k not in cls.model_fields]
            for key in stale:
                log.warning("reader %s: %r does not apply to driver %s; ignored", data.get("id"), key, data["driver"])
            data = {k: v for k, v in data.items() if k not in stale}
        return data

    def build(self) -> Reader:
        raise NotImplementedError


class ReaderGone(Exception):
    """The reader (or its stack) went away; the reason is the message."""


class Reader(ABC):
    """A reader driver. Subclasses implement ``_session()``: connect, then push reads until
    the connection ends (return) or fails (raise). The base class supervises, reconnects,
    tracks health and hands out the read stream."""

    def __init__(self, reader_id: str, backoff: Backoff | None = None) -> None:
        self.reader_id = reader_id
        self.health = Health(HealthState.OFFLINE, "not started")
        #: when the reader last said anything (monotonic), for a reader that speaks with nothing
        #: in its field (keepalives, reports): presence is judged only over time it was heard
        #: reading. None: a reader that shows it is reading only by its reads.
        self.heard: float | None = None
        #: where reads go: the daemon's one read queue once ``attach``-ed, else a queue of its own
        self.queue = ReadQueue()
        self._backoff = backoff or Backoff()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._listeners: list[Callable[[Health], None]] = []

    # -- for the daemon -----------------------------------------------------------------
    async def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._supervise(), name=f"reader {self.reader_id}")

    async def stop(self) -> None:
        self._stopping = True
        task, self._task = self._task, None
        # cancel until it is done: on Python 3.11 a cancellation that races a completing
        # wait_for() can be swallowed, and a busy reader completes reads all the time
        while task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=1.0)
        if task is not None and not task.cancelled():
            with contextlib.suppress(Exception):
                task.exception()
        await self._close()
        self._set_health(HealthState.OFFLINE, "stopped")

    def attach(self, queue: ReadQueue) -> None:
        """Feed ``queue`` (shared by every reader of the daemon) instead of a queue of its own."""
        self.queue = queue

    @property
    def dropped_reads(self) -> int:
        return self.queue.dropped_by_reader[self.reader_id]

    async def reads(self) -> AsyncIterator[TagRead]:
        """This reader's reads one by one (a reader used on its own: tools and tests)."""
        while True:
            for read in await self.queue.get_batch():
                yield read

    def on_health(self, listener: Callable[[Health], None]) -> None:
        self._listeners.append(listener)

    # -- for subclasses -----------------------------------------------------------------
    @abstractmethod
    async def _session(self) -> None:
        """One connection's life: set ONLINE when ready, ``_emit`` reads, return or raise."""

    @abstractmethod
    async def _close(self) -> None:
        """Release the connection; called after every session and on stop."""

    def _emit(self, read: TagRead) -> None:
        self.queue.put(read)  # folds repeats in; a drop is counted there, per reader

    def _set_health(self, state: HealthState, reason: str = "") -> None:
        if self.health.state == state and self.health.reason == reason:
            return
        self.health = Health(state, reason)
        log.info("reader %s: %s %s", self.reader_id, state.value, reason)
        for listener in self._listeners:
            listener(self.health)

    async def _supervise(self) -> None:
        while not self._stopping:
            self._set_health(HealthState.CONNECTING)
            try:
                await self._session()
                reason = "connection closed"
            except asyncio.CancelledError:
                raise
            except Exception as e:  # any failure of one reader stays with that reader
                reason = str(e) or type(e).__name__
                log.warning("reader %s failed: %s", self.reader_id, reason)
            await self._close()
            if self._stopping:
                return
            if self.health.state in (HealthState.ONLINE, HealthState.DEGRADED):
                self._backoff.reset()
            self._set_health(HealthState.OFFLINE, reason)
            await asyncio.sleep(self._backoff.next_delay())


class ThreadedReader(Reader):
    """A driver whose library blocks (pyscard, nfcpy, pyserial): ``_run`` does one session in
    a worker thread, checks ``_halt`` often, and hands reads back with ``_emit_threadsafe``."""

    def __init__(self, reader_id: str, backoff: Backoff | None = None) -> None:
        super().__init__(reader_id, backoff)
        self._halt = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    @abstractmethod
    def _run(self) -> None:
        """One connection's life, in the worker thread; return or raise ReaderGone."""

    async def _session(self) -> None:
        """``_run`` on a daemon thread of its own (never the loop's default executor, whose
        shutdown waits for every thread: a driver stuck in its library must not hang the
        daemon's exit); a cancelled session tells the thread to halt at once."""
        self._halt.clear()
        loop = self._loop = asyncio.get_running_loop()
        finished: asyncio.Future[None] = loop.create_future()

        def settle(error: BaseException | None) -> None:
            if finished.done():
                return
            if error is None:
                finished.set_result(None)
            else:
                finished.set_exception(error)

        def target() -> None:
            error: BaseException | None = None
            try:
                self._run()
            except BaseException as e:
                error = e
            with contextlib.suppress(RuntimeError):  # the loop may be closed already
                loop.call_soon_threadsafe(settle, error)

        threading.Thread(target=target, name=f"reader {self.reader_id}", daemon=True).start()
        try:
            await finished
        except asyncio.CancelledError:
            self._halt.set()
            raise

    async def _close(self) -> None:
        self._halt.set()

    def _emit_threadsafe(self, read: TagRead) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._emit, read)

    def _health_threadsafe(self, state: HealthState, reason: str) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._set_health, state, reason)
