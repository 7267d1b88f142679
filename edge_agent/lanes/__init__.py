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
from collections.abc import Callable, Iterable, Iterator

from drivers.base import Health, HealthState, Reader
from edge_agent.age import AgeBackend
from edge_agent.age import token as age_token
from edge_agent.basket import Basket, State
from edge_agent.config import LaneSettings
from edge_agent.egais import stamp
from edge_agent.fiscal.requisites import Foundation
from edge_agent.lanes.held import HeldFor
from edge_agent.lanes.lane import LaneController
from edge_agent.metrics import Metrics
from edge_agent.pipeline import Arrived, Departed, Event, LaneConfig, Pipeline, Settled, Zone
from edge_agent.readqueue import ReadQueue
from edge_agent.reads import TagRead
from edge_agent.repositories import Repositories
from edge_agent.verify.chain import Verifier

log = logging.getLogger("edge_agent.lanes")
LIVE = frozenset({HealthState.ONLINE, HealthState.DEGRADED})  # a reader whose reads say what is present
TICK_S = 0.02  # how often time passes for the pipeline: bounds how late a box is seen settled
PROBE_S = 1.0  # while the store cannot write, how often it is tried again

__all__ = ["LaneController", "Lanes", "pipeline_for"]


def pipeline_for(lanes: Iterable[LaneSettings]) -> Pipeline:
    settings = list(lanes)
    zones = [
        Zone(z.reader, lane.id, frozenset(z.antennas) if z.antennas is not None else None, z.min_rssi)
        for lane in settings
        for z in lane.zones
    ]
    configs = [
        LaneConfig(
            s.id,
            s.mode,
            s.depart_after_s,
            s.settle_s,
            settle=s.settle,
            miss_per_round=s.miss_per_round,
            settle_error=s.settle_error,
        )
        for s in settings
    ]
    return Pipeline(zones, configs)


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
        foundation: Foundation | None = None,
        age: AgeBackend | None = None,
    ) -> None:
        settings = list(settings)
        self.by_id = {
            s.id: LaneController(s, records, verifier, metrics, foundation=foundation, age=age) for s in settings
        }
        self.age = age
        self.scanner_lane = {scanner: s.id for s in settings for scanner in s.scanners}  # document scanners
        zoned = {z.reader for s in settings for z in s.zones}
        self.documents_only = frozenset(self.scanner_lane) - zoned  # read no items
        self.records = records
        self.pipeline = pipeline_for(settings)
        self.metrics = metrics
        self.intercept = intercept  # True: the read is not an item (a staff badge)
        self.readers: list[Reader] = []  # followed by ``watch``
        #: told when a box lane starts or stops settling (the kiosk shows its total again)
        self.settling_listeners: list[Callable[[str], None]] = []

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
        """A batch of reads from the queue. Each lane's arrivals in it are journaled together
        (one commit for a burst of new tags); any other event of a lane first commits the
        arrivals before it, so every lane sees its events in order."""
        arrivals: dict[str, list[Arrived]] = {}
        for read in reads:
            self.metrics.reads.labels(read.reader_id).inc()
            if self.intercept(read) or self._document(read):
                continue
            for event in self.pipeline.feed(read):
                if isinstance(event, Arrived):
                    arrivals.setdefault(event.lane, []).append(event)
                    continue
                if event.lane in arrivals:
                    self.arrive(event.lane, arrivals.pop(event.lane))
                self.dispatch(event)
        for lane, events in arrivals.items():
            self.arrive(lane, events)

    def _document(self, read: TagRead) -> bool:
        """A scan that is the shopper's document, not an item: a digital ID's age QR, or a
        bottle's excise stamp (on a document scanner, anything else is a bad stamp)."""
        if read.kind != "barcode":
            return False
        zone = self.pipeline.zone_of(read.reader_id, read.antenna)
        lane = self.by_id.get(self.scanner_lane.get(read.reader_id) or (zone.lane if zone is not None else ""))
        if lane is not None and lane.age is not None and lane.age.recognizes(read.raw):
            lane.age.shown(read.raw)
            return True
        if age_token.looks_like(read.raw):  # a digital ID where no lane takes one: said, never an item
            if lane is not None:
                lane.notice = {
                    "code": "age_off",
                    "message": "this kiosk does not take the digital ID: staff check ages",
                }
                for listener in self.settling_listeners:
                    listener(lane.id)
            log.info("an age document scanned on %s, which takes none", read.reader_id)
            return True
        if lane is None or not (read.reader_id in self.documents_only or stamp.looks_like(read.raw)):
            return False
        try:
            lane.stamp_scanned(read.raw)
        finally:
            for listener in self.settling_listeners:  # the kiosk says what became of it
                listener(lane.id)
        return True

    def arrive(self, lane: str, events: list[Arrived]) -> None:
        self._settling(lane, True)
        try:
            self.by_id[lane].arrived_many(events)
        except Exception:  # events that could not be handled (a failed write) never stop the reads
            self.metrics.event_errors.inc()
            log.exception("lane %s: %d arrivals not handled", lane, len(events))

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
                if lane.basket is not None and lane.basket.state is State.CANCELLED:
                    for listener in self.settling_listeners:  # the kiosk counts what is left in the box
                        listener(lane.id)
            elif isinstance(event, Settled):
                self._settling(event.lane, False)
                lane.want_check()  # the box settled: one batched check for its new items
        except Exception:  # one event that could not be handled (a failed write) never stops the reads
            self.metrics.event_errors.inc()
            log.exception("lane %s: %s not handled", event.lane, type(event).__name__)

    def _settling(self, lane: str, settling: bool) -> None:
        controller = self.by_id[lane]
        if controller.settings.mode != "box" or controller.settling == settling:
            return
        controller.settling = settling
        for listener in self.settling_listeners:
            listener(lane)

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
