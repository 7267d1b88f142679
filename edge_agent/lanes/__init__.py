"""The store's lanes: presence events become basket commands, and each lane checks its marked
items on a task of its own (docs/adr/0009-lanes-are-bulkheads.md). What a read is as an item is
``items.py`` (pure); what a lane holds and why, ``held.py``; its check worker, ``checks.py``.

``Lanes.run(queue)`` takes reads from the one read queue through the pure pipeline and hands
each event to its lane at once: an arrival adds a line (an EPC's full mark code comes from the
tag's User memory or the store's received codes), a departure from a box removes it. Neither
waits on the network. Mark-code checks (batched when a box settles, at once on a tap) run on
the lane's own worker, so a lane whose check hangs for the whole 1.5 s budget delays nothing
on any other lane, and not even its own arrivals and departures.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime

from drivers.base import Health, HealthState, Reader
from edge_agent.basket import Basket, BasketError, Line, State
from edge_agent.basket.commands import Add, Remove
from edge_agent.clock import wall_time
from edge_agent.codes import ParseError
from edge_agent.config import LaneSettings
from edge_agent.db import StoreError
from edge_agent.lanes.checks import LaneChecks
from edge_agent.lanes.held import HeldEvents, HeldFor
from edge_agent.lanes.items import resolve
from edge_agent.logthrottle import ThrottledLog
from edge_agent.metrics import Metrics
from edge_agent.pipeline import Arrived, Departed, Event, Key, LaneConfig, Pipeline, Settled, Zone
from edge_agent.readqueue import ReadQueue
from edge_agent.reads import TagRead
from edge_agent.repositories import Repositories
from edge_agent.verify.chain import Verifier

log = logging.getLogger("edge_agent.lanes")
LIVE = frozenset({HealthState.ONLINE, HealthState.DEGRADED})  # a reader whose reads say what is present
TICK_S = 0.02  # how often time passes for the pipeline: bounds how late a box is seen settled
PROBE_S = 1.0  # while the store cannot write, how often it is tried again


class LaneController:
    """One lane: its current basket, which read is which line, the events it holds, and its
    check worker (``checks``)."""

    def __init__(
        self, settings: LaneSettings, records: Repositories, verifier: Verifier | None, metrics: Metrics | None = None
    ) -> None:
        self.settings, self.records = settings, records
        self.metrics = metrics or Metrics()
        self.metrics.cloned_tags.labels(settings.id)  # exported at 0 from the start
        self.read_at: float | None = None  # the read behind the change being committed (screens)
        self.basket: Basket | None = None
        self.lines: dict[Key, int] = {}  # pipeline key -> line id
        self.held = HeldEvents()
        self.checks = LaneChecks(
            settings.id, journal=records.journal, verifier=verifier, metrics=self.metrics, basket=lambda: self.basket
        )
        self.parse_errors = 0
        self._noise = ThrottledLog(log)  # reads that are not items: a line a minute per kind, and a counter

    @property
    def id(self) -> str:
        return self.settings.id

    def current(self) -> Basket:
        if self.basket is None or self.basket.state in (State.CLOSED, State.CANCELLED):
            self.basket = self.records.journal.open_basket(f"{self.id}-{uuid.uuid4().hex[:12]}", self.id)
            self.lines.clear()
            self.checks.reset()
        return self.basket

    def adopt(self, basket: Basket) -> None:
        """A basket restored from the journal: its serialized lines are matched to reads again."""
        self.basket = basket
        self.checks.reset({line.id for line in basket.lines.values() if line.marked and line.verdict is None})

    def forget(self, line_id: int) -> None:
        """Staff voided a line: its reads no longer map to it."""
        self.lines = {k: v for k, v in self.lines.items() if v != line_id}
        self.checks.discard(line_id)

    @property
    def paused(self) -> dict[str, str] | None:
        """Why this lane takes no items now (the kiosk says so), or None."""
        if self.records.db.fault is None and not self.held.count(HeldFor.STORE_UNAVAILABLE):
            return None
        return {
            "code": "store_unavailable",
            "message": f"items cannot be recorded: {self.records.db.fault or 'retrying'}",
        }

    def retry(self) -> None:
        """Replay what the store could not journal, in order; stops at the first that fails again."""
        events = self.held.release(HeldFor.STORE_UNAVAILABLE)
        for i, event in enumerate(events):
            if self.records.db.fault is not None:
                for rest in events[i:]:
                    self.held.hold(rest, HeldFor.STORE_UNAVAILABLE)
                return
            if isinstance(event, Arrived):
                self.arrived(event)
            else:
                self.departed(event)

    # -- events (synchronous: a journal write, never the network) -----------------------------
    def arrived(self, event: Arrived) -> int | None:
        if self.records.db.fault is not None:
            self.held.hold(event, HeldFor.STORE_UNAVAILABLE)
            return None
        try:
            return self._arrived(event)
        except StoreError:  # nothing was written and nothing is shown: tried again when it can
            self.held.hold(event, HeldFor.STORE_UNAVAILABLE)
            return None

    def _arrived(self, event: Arrived) -> int | None:
        records = self.records
        facts = resolve(event.read, mark_code_for=records.catalogue.mark_code_for, tid_of=records.tids.tid_of)
        if isinstance(facts, ParseError):
            self._not_an_item(event.read, facts)
            return None
        identity = facts.identity
        basket = self.current()
        existing = basket.line_by_key(identity.ki)
        if existing is not None:  # restored basket, or the same item through another carrier
            self.lines[event.key] = existing.id
            return None
        if facts.cloned:
            self.metrics.cloned_tags.labels(self.id).inc()
            log.warning(
                "lane %s: %s read on chip %s, bound to %s: a copied tag",
                self.id,
                identity.ki,
                facts.tid,
                facts.bound_tid,
            )
        add = Add(
            product=records.catalogue.product(identity.gtin),
            gtin=identity.gtin,
            at=datetime.fromtimestamp(wall_time(event.read.received), UTC),
            ki=identity.ki,
            mark_code=facts.mark_code,
            sold_here=records.sold.sold_here(identity.ki),
            tid=facts.tid,
            cloned=facts.cloned,
        )
        line = self._add(basket, add, event)
        if line is None:
            return None
        self.metrics.latency("tag_to_basket", max(0.0, time.monotonic() - event.read.received))
        self.lines[event.key] = line.id
        if line.marked:
            self.checks.add(line.id, facts.checked_as)
            if self.settings.mode == "tap":
                self.checks.want()
        return int(line.id)

    def _add(self, basket: Basket, add: Add, event: Arrived) -> Line | None:
        self.read_at = wall_time(event.read.received)
        try:
            line: Line | None = self.records.journal.apply(basket, add)
            return line
        except BasketError as e:
            if basket.state in (State.PAYMENT_PENDING, State.PAID):
                self.held.hold(event, HeldFor.BASKET_PAYING)
                log.info("lane %s: %s put in while paying: it starts the next basket", self.id, add.ki)
            else:
                log.info("lane %s: item not added: %s", self.id, e.message)
            return None
        finally:
            self.read_at = None

    def _not_an_item(self, read: TagRead, error: ParseError) -> None:
        self.parse_errors += 1
        self.metrics.parse_errors.inc()
        self._noise.info(
            error.code, "lane %s: %s read %r is not an item: %s", self.id, read.kind, read.raw[:60], error.message
        )

    def departed(self, event: Departed) -> None:
        why = self.held.why(event.key)
        if why is HeldFor.BASKET_PAYING:
            self.held.drop(event.key)
            return  # taken out again before its basket could start
        if why is HeldFor.STORE_UNAVAILABLE or self.records.db.fault is not None:
            self.held.hold(event, HeldFor.STORE_UNAVAILABLE)
            return
        line_id = self.lines.get(event.key)
        if line_id is None or self.basket is None or line_id not in self.basket.lines:
            self.lines.pop(event.key, None)
            return
        remove = Remove(line_id=line_id, by="customer", device=self.id, at=datetime.now(UTC))
        try:
            self.records.journal.apply(self.basket, remove)
        except BasketError:
            pass  # the basket is past removing lines (paying): the line stays
        except StoreError:
            self.held.hold(event, HeldFor.STORE_UNAVAILABLE)
            return
        self.lines.pop(event.key, None)
        self.checks.discard(line_id)

    def next_basket(self) -> None:
        """The items that waited for the paid basket to be over start the next one."""
        if not self.held.count(HeldFor.BASKET_PAYING):
            return
        if self.basket is not None and self.basket.state not in (State.CLOSED, State.CANCELLED):
            return
        for event in self.held.release(HeldFor.BASKET_PAYING):
            if isinstance(event, Arrived):
                self.arrived(event)

    def want_check(self) -> None:
        """Check the lines not yet checked, on this lane's worker (a box settled, a tap)."""
        self.checks.want()

    async def run(self) -> None:
        await self.checks.run()


def pipeline_for(lanes: Iterable[LaneSettings]) -> Pipeline:
    settings = list(lanes)
    zones = [
        Zone(z.reader, lane.id, frozenset(z.antennas) if z.antennas is not None else None, z.min_rssi)
        for lane in settings
        for z in lane.zones
    ]
    return Pipeline(zones, [LaneConfig(s.id, s.mode, s.depart_after_s, s.settle_s) for s in settings])


class Lanes:
    """Every lane of the store, fed from the one read queue through the pipeline."""

    def __init__(
        self,
        settings: Iterable[LaneSettings],
        records: Repositories,
        verifier: Verifier | None,
        *,
        metrics: Metrics,
        intercept: Callable[[TagRead], bool] = lambda read: False,
    ) -> None:
        settings = list(settings)
        self.by_id = {s.id: LaneController(s, records, verifier, metrics) for s in settings}
        self.records = records
        self.pipeline = pipeline_for(settings)
        self.metrics = metrics
        self.intercept = intercept  # True: the read is not an item (a staff badge)
        self.readers: list[Reader] = []  # followed by ``watch``

    def __getitem__(self, lane: str) -> LaneController:
        return self.by_id[lane]

    def get(self, lane: str) -> LaneController | None:
        return self.by_id.get(lane)

    def __iter__(self) -> Iterator[str]:
        return iter(self.by_id)

    def __len__(self) -> int:
        return len(self.by_id)

    def restore(self, baskets: Iterable[Basket]) -> None:
        for basket in baskets:
            lane = self.by_id.get(basket.lane)
            if lane is not None:
                lane.adopt(basket)
                log.info(
                    "restored basket %s on %s: %d lines, %s",
                    basket.id,
                    basket.lane,
                    len(basket.lines),
                    basket.state.value,
                )

    def basket(self, basket_id: str) -> Basket | None:
        """A live basket by id (the checkout flow resumes with it)."""
        for lane in self.by_id.values():
            if lane.basket is not None and lane.basket.id == basket_id:
                return lane.basket
        return None

    def live_baskets(self) -> list[Basket]:
        """Each lane's current basket (the attendant's queue)."""
        return [c.basket for c in self.by_id.values() if c.basket is not None]

    def waiting_events(self) -> dict[str, int]:
        """Lanes holding presence events for the store to write (a full disk): how many each."""
        held = {lane: c.held.count(HeldFor.STORE_UNAVAILABLE) for lane, c in self.by_id.items()}
        return {lane: n for lane, n in held.items() if n}

    def feed(self, reads: Iterable[TagRead]) -> None:
        for read in reads:
            self.metrics.reads.labels(read.reader_id).inc()
            if self.intercept(read):
                continue
            for event in self.pipeline.feed(read):
                self.dispatch(event)

    def watch(self, readers: Iterable[Reader]) -> None:
        """Follow the readers' health: presence is never judged by a reader that is not online,
        nor over time it was not heard reading."""
        self.readers = list(readers)
        for reader in self.readers:
            reader.on_health(functools.partial(self.reader_health, reader.reader_id))

    def reader_health(self, reader_id: str, health: Health) -> None:
        if health.state in LIVE:
            self.pipeline.reader_up(reader_id, time.monotonic())
        else:
            self.pipeline.reader_down(reader_id)

    def tick(self, now: float) -> None:
        for reader in self.readers:
            if reader.heard is not None:
                self.pipeline.hear(reader.reader_id, reader.heard)
        for event in self.pipeline.tick(now):
            self.dispatch(event)
        for lane in self.by_id.values():
            lane.next_basket()

    def dispatch(self, event: Event) -> None:
        lane = self.by_id[event.lane]
        try:
            if isinstance(event, Arrived):
                lane.arrived(event)
            elif isinstance(event, Departed):
                lane.departed(event)
            elif isinstance(event, Settled):
                lane.want_check()  # the box settled: one batched check for its new items
        except Exception:  # one event that could not be handled (a failed write) never stops the reads
            self.metrics.event_errors.inc()
            log.exception("lane %s: %s not handled", event.lane, type(event).__name__)

    async def run(self, queue: ReadQueue) -> None:
        """Consume reads, let time pass, and run every lane's worker, until cancelled."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self._consume(queue), name="reads")
            group.create_task(self._tick(), name="tick")
            for lane in self.by_id.values():
                group.create_task(lane.run(), name=f"lane {lane.id}")

    async def _consume(self, queue: ReadQueue) -> None:
        while True:
            self.feed(await queue.get_batch())
            await asyncio.sleep(0)  # let the readers and the lanes' workers in between batches

    async def _tick(self) -> None:
        probed = 0.0
        while True:
            await asyncio.sleep(TICK_S)
            self.tick(time.monotonic())
            if self.records.db.fault is not None and time.monotonic() - probed >= PROBE_S:
                probed = time.monotonic()
                self.records.db.probe()  # a full disk: can it write again? (a small write, every PROBE_S)
            if self.records.db.fault is None:
                self.resume()

    def resume(self) -> None:
        """The store writes again: what waited is journaled, unchecked lines are checked."""
        for lane in self.by_id.values():
            if lane.held.count(HeldFor.STORE_UNAVAILABLE):
                lane.retry()
            if lane.checks.recheck and not lane.held.count(HeldFor.STORE_UNAVAILABLE):
                lane.checks.recheck = False
                lane.want_check()
