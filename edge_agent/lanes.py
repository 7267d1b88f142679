"""The store's lanes: presence events become basket commands, and each lane checks its marked
items on a task of its own (docs/adr/0009-lanes-are-bulkheads.md).

``Lanes.run(queue)`` takes reads from the one read queue through the pure pipeline and hands
each event to its lane at once: an arrival adds a line (an EPC's full mark code comes from the
tag's User memory or the store's received codes), a departure from a box removes it. Neither
waits on the network. Mark-code checks (batched when a box settles, at once on a tap) run on
the lane's own worker, so a lane whose check hangs for the whole 1.5 s budget delays nothing
on any other lane, and not even its own arrivals and departures.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime

from drivers.base import Health, HealthState, Reader
from edge_agent.basket import Basket, BasketError, State
from edge_agent.basket.commands import Add, Remove, Verdict
from edge_agent.codes import Identity, ParseError, parse
from edge_agent.config import LaneSettings
from edge_agent.db import StoreError
from edge_agent.gate.rules import tid_matches
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
    """One lane: its current basket, which read is which line, and its check worker."""

    def __init__(
        self, settings: LaneSettings, records: Repositories, verifier: Verifier | None, metrics: Metrics | None = None
    ) -> None:
        self.settings, self.records, self.verifier = settings, records, verifier
        self.metrics = metrics or Metrics()
        self.metrics.cloned_tags.labels(settings.id)  # exported at 0 from the start
        self.read_at: float | None = None  # the read behind the change being committed (screens)
        self.basket: Basket | None = None
        self.lines: dict[Key, int] = {}  # pipeline key -> line id
        self.identities: dict[int, Identity] = {}
        self.unverified: set[int] = set()
        self.parse_errors = 0
        #: presence events the store could not journal (a full disk): replayed, in order, once it can
        self.pending: dict[Key, Arrived | Departed] = {}
        #: items put in while the basket was being paid: they open the next basket once this one
        #: is over, rather than being lost (and walking out unpaid)
        self.waiting: dict[Key, Arrived] = {}
        self.recheck = False  # verdicts could not be written: check again when the store can
        self._wanted = asyncio.Event()  # a check is due
        self._noise = ThrottledLog(log)  # reads that are not items: a line a minute per kind, and a counter

    @property
    def id(self) -> str:
        return self.settings.id

    def current(self) -> Basket:
        if self.basket is None or self.basket.state in (State.CLOSED, State.CANCELLED):
            self.basket = self.records.journal.open_basket(f"{self.id}-{uuid.uuid4().hex[:12]}", self.id)
            self.lines.clear()
            self.identities.clear()
            self.unverified.clear()
        return self.basket

    def adopt(self, basket: Basket) -> None:
        """A basket restored from the journal: its serialized lines are matched to reads again."""
        self.basket = basket
        self.unverified = {line.id for line in basket.lines.values() if line.marked and line.verdict is None}

    def forget(self, line_id: int) -> None:
        """Staff voided a line: its reads no longer map to it."""
        self.lines = {k: v for k, v in self.lines.items() if v != line_id}
        self.unverified.discard(line_id)

    def identity_of(self, read: TagRead) -> Identity | None:
        try:
            identity = parse(read.raw)
        except ParseError as e:
            self.parse_errors += 1
            self.metrics.parse_errors.inc()
            self._noise.info(
                e.code, "lane %s: %s read %r is not an item: %s", self.id, read.kind, read.raw[:60], e.message
            )
            return None
        if identity.mark_code is None and read.user_memory:  # the КМ written in the tag's User memory
            with contextlib.suppress(ParseError):
                stored = parse(read.user_memory.rstrip(b"\x00").decode("latin-1"))
                if stored.ki == identity.ki and stored.mark_code is not None:
                    return stored
        return identity

    @property
    def paused(self) -> dict[str, str] | None:
        """Why this lane takes no items now (the kiosk says so), or None."""
        if self.records.db.fault is None and not self.pending:
            return None
        return {
            "code": "store_unavailable",
            "message": f"items cannot be recorded: {self.records.db.fault or 'retrying'}",
        }

    def _hold(self, event: Arrived | Departed) -> None:
        held = self.pending.pop(event.key, None)
        if isinstance(event, Departed) and isinstance(held, Arrived):
            return  # it came and went while nothing could be written: nothing to record
        self.pending[event.key] = event

    def retry(self) -> None:
        """Replay what the store could not journal, in order; stops at the first that fails again."""
        events, self.pending = list(self.pending.values()), {}
        for i, event in enumerate(events):
            if self.records.db.fault is not None:
                self.pending.update((e.key, e) for e in events[i:])
                return
            self.arrived(event) if isinstance(event, Arrived) else self.departed(event)

    # -- events (synchronous: a journal write, never the network) -----------------------------
    def arrived(self, event: Arrived) -> int | None:
        if self.records.db.fault is not None:
            self._hold(event)
            return None
        try:
            return self._arrived(event)
        except StoreError:  # nothing was written and nothing is shown: tried again when it can
            self._hold(event)
            return None

    def _arrived(self, event: Arrived) -> int | None:
        identity = self.identity_of(event.read)
        if identity is None:
            return None
        basket = self.current()
        existing = basket.line_by_key(identity.ki)
        if existing is not None:  # restored basket, or the same item through another carrier
            self.lines[event.key] = existing.id
            return None
        mark_code = identity.mark_code or self.records.catalogue.mark_code_for(identity.ki)
        at = datetime.fromtimestamp(event.read.timestamp, UTC)
        tid = event.read.tid
        bound = self.records.tids.tid_of(identity.ki) if tid else None
        cloned = bound is not None and tid is not None and not tid_matches(bytes.fromhex(bound), tid)
        if cloned:
            self.metrics.cloned_tags.labels(self.id).inc()
            log.warning(
                "lane %s: %s read on chip %s, bound to %s: a copied tag",
                self.id,
                identity.ki,
                tid.hex().upper() if tid else "",
                bound,
            )
        add = Add(
            self.records.catalogue.product(identity.gtin),
            identity.gtin,
            at,
            identity.ki,
            mark_code,
            self.records.sold.sold_here(identity.ki),
            tid.hex().upper() if tid else None,
            cloned,
        )
        self.read_at = event.read.timestamp
        try:
            line = self.records.journal.apply(basket, add)
        except BasketError as e:
            if basket.state in (State.PAYMENT_PENDING, State.PAID):
                self.waiting[event.key] = event
                log.info("lane %s: %s put in while paying: it starts the next basket", self.id, identity.ki)
            else:
                log.info("lane %s: item not added: %s", self.id, e.message)
            return None
        finally:
            self.read_at = None
        if line is None:
            return None
        self.metrics.latency("tag_to_basket", max(0.0, time.time() - event.read.timestamp))
        self.lines[event.key] = line.id
        if line.marked:
            # the tag or scan may have carried the КМ already; else it came from received codes
            self.identities[line.id] = parse(mark_code) if mark_code and identity.mark_code is None else identity
            self.unverified.add(line.id)
            if self.settings.mode == "tap":
                self.want_check()
        return int(line.id)

    def departed(self, event: Departed) -> None:
        if self.waiting.pop(event.key, None) is not None:
            return  # taken out again before its basket could start
        if event.key in self.pending or self.records.db.fault is not None:
            self._hold(event)
            return
        line_id = self.lines.get(event.key)
        if line_id is None or self.basket is None or line_id not in self.basket.lines:
            self.lines.pop(event.key, None)
            return
        try:
            self.records.journal.apply(self.basket, Remove(line_id, "customer", self.id, datetime.now(UTC)))
        except BasketError:
            pass  # the basket is past removing lines (paying): the line stays
        except StoreError:
            self._hold(event)
            return
        self.lines.pop(event.key, None)
        self.unverified.discard(line_id)

    def next_basket(self) -> None:
        """The items that waited for the paid basket to be over start the next one."""
        if not self.waiting or (self.basket is not None and self.basket.state not in (State.CLOSED, State.CANCELLED)):
            return
        events, self.waiting = list(self.waiting.values()), {}
        for event in events:
            self.arrived(event)

    def want_check(self) -> None:
        """Check the lines not yet checked, on this lane's worker (a box settled, a tap)."""
        self._wanted.set()

    # -- the lane's own worker ---------------------------------------------------------------
    async def run(self) -> None:
        while True:
            await self._wanted.wait()
            self._wanted.clear()
            try:
                await self.verify_pending()
            except Exception:  # a failed check or write stays with this lane; the next one tries again
                log.exception("lane %s: check failed", self.id)

    async def verify_pending(self) -> None:
        if self.basket is None or not self.unverified or self.verifier is None:
            return
        basket = self.basket
        ids = [i for i in sorted(self.unverified) if i in basket.lines and i in self.identities]
        self.unverified.clear()
        if not ids:
            return
        started = time.perf_counter()
        verdicts = await self.verifier.verify([self.identities[i] for i in ids])
        self.metrics.latency("check", time.perf_counter() - started)
        for n, (line_id, verdict) in enumerate(zip(ids, verdicts, strict=True)):
            self.metrics.verdicts.labels(verdict.outcome.value).inc()
            if basket is not self.basket or line_id not in basket.lines:
                continue  # the item left while it was being checked
            ctx = verdict.context
            command = Verdict(
                line_id,
                verdict.outcome.value,
                verdict.reasons[0].message if verdict.reasons else "",
                verdict.tag_1265,
                verdict.fiscal(),
                ctx.source if ctx else None,
                ctx.req_id if ctx else None,
                ctx.req_timestamp if ctx else None,
            )
            try:
                self.records.journal.apply(basket, command)
            except BasketError:
                continue  # the basket moved on to payment meanwhile: its lines are final
            except StoreError:  # checked again once the store can write
                self.unverified.update(ids[n:])
                self.recheck = True
                return


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
        metrics: Metrics,
        intercept: Callable[[TagRead], bool] = lambda read: False,
    ) -> None:
        settings = list(settings)
        self.by_id = {s.id: LaneController(s, records, verifier, metrics) for s in settings}
        self.records = records
        self.pipeline = pipeline_for(settings)
        self.metrics = metrics
        self.intercept = intercept  # True: the read is not an item (a staff badge)

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
        return {lane: len(c.pending) for lane, c in self.by_id.items() if c.pending}

    def feed(self, reads: Iterable[TagRead]) -> None:
        for read in reads:
            self.metrics.reads.labels(read.reader_id).inc()
            if self.intercept(read):
                continue
            for event in self.pipeline.feed(read):
                self.dispatch(event)

    def watch(self, readers: Iterable[Reader]) -> None:
        """Follow the readers' health: presence is never judged by a reader that is not online."""
        for reader in readers:
            reader.on_health(functools.partial(self.reader_health, reader.reader_id))

    def reader_health(self, reader_id: str, health: Health) -> None:
        if health.state in LIVE:
            self.pipeline.reader_up(reader_id, time.time())
        else:
            self.pipeline.reader_down(reader_id)

    def tick(self, now: float) -> None:
        for event in self.pipeline.tick(now):
            self.dispatch(event)
        for lane in self.by_id.values():
            if lane.waiting:
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
            self.tick(time.time())
            if self.records.db.fault is not None and time.monotonic() - probed >= PROBE_S:
                probed = time.monotonic()
                self.records.db.probe()  # a full disk: can it write again? (a small write, every PROBE_S)
            if self.records.db.fault is None:
                self.resume()

    def resume(self) -> None:
        """The store writes again: what waited is journaled, unchecked lines are checked."""
        for lane in self.by_id.values():
            if lane.pending:
                lane.retry()
            if lane.recheck and not lane.pending:
                lane.recheck = False
                lane.want_check()
