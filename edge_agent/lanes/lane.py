"""One lane: presence events become basket commands (journaled, never waiting on the network),
and its marked items are checked on a worker of its own (``checks.py``)."""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from edge_agent.age import AgeBackend
from edge_agent.basket import Basket, BasketError, Line, State
from edge_agent.basket.commands import Add, Remove
from edge_agent.basket.customer import BindStamp, SetPart
from edge_agent.clock import wall_time
from edge_agent.codes import Identity, ParseError, parse
from edge_agent.config import LaneSettings
from edge_agent.db import StoreError
from edge_agent.egais import stamp
from edge_agent.fiscal.requisites import Foundation
from edge_agent.lanes.age import LaneAge
from edge_agent.lanes.checks import LaneChecks
from edge_agent.lanes.held import HeldEvents, HeldFor
from edge_agent.lanes.items import resolve
from edge_agent.logthrottle import ThrottledLog
from edge_agent.metrics import Metrics
from edge_agent.pipeline import Arrived, Departed, Key
from edge_agent.reads import TagRead
from edge_agent.repositories import Repositories
from edge_agent.verify.chain import Verifier

log = logging.getLogger("edge_agent.lanes")


class LaneController:
    """One lane: its current basket, which read is which line, the events it holds, and its
    check worker (``checks``)."""

    def __init__(
        self,
        settings: LaneSettings,
        records: Repositories,
        verifier: Verifier | None,
        metrics: Metrics | None = None,
        *,
        foundation: Foundation | None = None,
        age: AgeBackend | None = None,
    ) -> None:
        self.settings, self.records = settings, records
        self.metrics = metrics or Metrics()
        self.metrics.cloned_tags.labels(settings.id)  # exported at 0 from the start
        self.read_at: float | None = None  # the read behind the change being committed (screens)
        self.basket: Basket | None = None
        self.lines: dict[Key, int] = {}  # pipeline key -> line id
        self.held = HeldEvents()
        self.checks = LaneChecks(
            settings.id,
            journal=records.journal,
            verifier=verifier,
            metrics=self.metrics,
            basket=lambda: self.basket,
            foundation=foundation,
        )
        #: the shopper's age documents (a digital-ID QR at the lane's scanner), when [age] names a service
        self.age = (
            None
            if age is None
            else LaneAge(
                settings.id, backend=age, journal=records.journal, metrics=self.metrics, basket=lambda: self.basket
            )
        )
        self.parse_errors = 0
        #: what the kiosk tells the shopper about their last document scan (a bad stamp), or None
        self.notice: dict[str, str] | None = None
        #: a box lane that took new items and whose reader has not yet seen all of the box (the
        #: kiosk says "counting" instead of a total that is still growing, and checkout waits);
        #: a departure does not count: an item gone for ``depart_after_s`` is known gone
        self.settling = False
        self._noise = ThrottledLog(log)  # reads that are not items: a line a minute per kind, and a counter

    @property
    def id(self) -> str:
        return self.settings.id

    def current(self) -> Basket:
        if self.basket is None or self.basket.state in (State.CLOSED, State.CANCELLED):
            self.basket = self.records.journal.open_basket(f"{self.id}-{uuid.uuid4().hex[:12]}", self.id)
            self.lines.clear()
            self.checks.reset()
            self.notice = None
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
        (line,) = self.arrived_many([event])
        return line

    def arrived_many(self, events: Sequence[Arrived]) -> list[int | None]:
        """Items that arrived, in order, journaled in one transaction (a box's burst of new tags
        costs one commit, not one each); the line each became, or None."""
        if self.records.db.fault is not None:
            for event in events:
                self.held.hold(event, HeldFor.STORE_UNAVAILABLE)
            return [None] * len(events)
        try:
            return self._arrived(events)
        except StoreError:  # nothing was written and nothing is shown: tried again when it can
            for event in events:
                self.held.hold(event, HeldFor.STORE_UNAVAILABLE)
            return [None] * len(events)

    def _arrived(self, events: Sequence[Arrived]) -> list[int | None]:
        records = self.records
        basket = self.current()
        adds: list[tuple[Arrived, Add, Identity]] = []  # each new item: its event, command, what is checked
        again: list[tuple[Arrived, str]] = []  # an item already added in this burst, by another carrier
        for event in events:
            facts = resolve(event.read, mark_code_for=records.catalogue.mark_code_for, tid_of=records.tids.tid_of)
            if isinstance(facts, ParseError):
                self._not_an_item(event.read, facts)
                continue
            ki = facts.identity.ki
            existing = basket.line_by_key(ki)
            if existing is not None:  # restored basket, or the same item through another carrier
                self.lines[event.key] = existing.id
                continue
            if any(add.ki == ki for _, add, _ in adds):
                again.append((event, ki))
                continue
            if facts.cloned:
                self.metrics.cloned_tags.labels(self.id).inc()
                log.warning(
                    "lane %s: %s read on chip %s, bound to %s: a copied tag", self.id, ki, facts.tid, facts.bound_tid
                )
            add = Add(
                product=records.catalogue.product(facts.identity.gtin),
                gtin=facts.identity.gtin,
                at=datetime.fromtimestamp(wall_time(event.read.received), UTC),
                ki=ki,
                mark_code=facts.mark_code,
                sold_here=records.sold.sold_here(ki),
                tid=facts.tid,
                cloned=facts.cloned,
                grams=facts.grams,
            )
            adds.append((event, add, facts.checked_as))
        if adds:
            self._journal(basket, adds)
        for event, ki in again:
            line = basket.line_by_key(ki)
            if line is not None:
                self.lines[event.key] = line.id
        return [self.lines.get(event.key) for event in events]

    def _journal(self, basket: Basket, adds: list[tuple[Arrived, Add, Identity]]) -> None:
        self.read_at = wall_time(adds[0][0].read.received)
        try:
            results = self.records.journal.apply_many(basket, [add for _, add, _ in adds])
        finally:
            self.read_at = None
        now = time.monotonic()
        for (event, add, checked_as), result in zip(adds, results, strict=True):
            if isinstance(result, BasketError):
                if basket.state in (State.PAYMENT_PENDING, State.PAID):
                    self.held.hold(event, HeldFor.BASKET_PAYING)
                    log.info("lane %s: %s put in while paying: it starts the next basket", self.id, add.ki)
                else:
                    log.info("lane %s: item not added: %s", self.id, result.message)
                continue
            if result is None:
                continue
            self.metrics.latency("tag_to_basket", max(0.0, now - event.read.received))
            self.lines[event.key] = result.id
            if result.marked:
                self.checks.add(result.id, checked_as)
                if self.settings.mode == "tap":
                    self.checks.want()

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

    def set_part(self, line_id: int, units: int) -> Line:
        """The shopper takes ``units`` of a pack (the kiosk): repriced and, marked, checked
        again with that many units (enough must be left in the pack)."""
        if self.basket is None:
            raise BasketError("no_line", f"no line {line_id}")
        line: Line = self.records.journal.apply(self.basket, SetPart(line_id=line_id, units=units))
        if line.marked and line.verdict is None and line.mark_code:
            with contextlib.suppress(ParseError):
                self.checks.add(line.id, parse(line.mark_code), units=line.part[0] if line.part else 1)
                self.checks.want()
        return line

    def stamp_scanned(self, text: str) -> None:
        """The shopper scanned what should be a bottle's excise stamp: it goes on the bottle's
        line, or the kiosk says why not (``notice``)."""
        try:
            found = stamp.parse(text)
        except stamp.StampError as e:
            self.notice = {"code": f"stamp_{e.code}", "message": e.message}
            self.metrics.refusals.labels(f"stamp_{e.code}").inc()
            self._noise.info(e.code, "lane %s: not an excise stamp: %s", self.id, e.message)
            return
        if self.basket is None:
            self.notice = {"code": "no_bottle", "message": "no bottle waits for its stamp"}
            return
        try:
            self.records.journal.apply(self.basket, BindStamp(stamp=found.text, at=datetime.now(UTC)))
        except BasketError as e:
            self.notice = {"code": e.code, "message": e.message}
            return
        except StoreError:
            self.notice = {"code": "store_unavailable", "message": "the stamp could not be recorded: scan it again"}
            return
        self.notice = None

    def want_check(self) -> None:
        """Check the lines not yet checked, on this lane's worker (a box settled, a tap)."""
        self.checks.want()

    async def run(self) -> None:
        await self.checks.run()
