"""A lane's mark-code checks, on a worker of its own (docs/adr/0009-lanes-are-bulkheads.md):
the lines not checked yet are checked in one batch when the box settles (at once on a tap), and
each verdict is journaled. A check that hangs for the whole budget delays nothing on any other
lane, nor this lane's own arrivals and departures."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from edge_agent.basket import Basket, BasketError
from edge_agent.basket.commands import Verdict
from edge_agent.basket.journal import Journal
from edge_agent.codes import Identity
from edge_agent.db import StoreError
from edge_agent.fiscal.requisites import Foundation
from edge_agent.metrics import Metrics
from edge_agent.verify.chain import Verifier

log = logging.getLogger("edge_agent.lanes")


class LaneChecks:
    """``basket``: the lane's current basket, when a batch is checked."""

    def __init__(
        self,
        lane: str,
        *,
        journal: Journal,
        verifier: Verifier | None,
        metrics: Metrics,
        basket: Callable[[], Basket | None],
        foundation: Foundation | None = None,
    ) -> None:
        self.lane, self.journal, self.verifier, self.metrics, self.basket = lane, journal, verifier, metrics, basket
        self.foundation = foundation  # tag 1260's decree table, as the receipts use it
        self.unverified: set[int] = set()  # marked lines not checked yet
        self.identities: dict[int, Identity] = {}  # line id -> what the check services are asked about
        self.units: dict[int, int] = {}  # line id -> the units of its pack sold (a part), when not 1
        self.recheck = False  # verdicts could not be written: check again when the store can
        self._wanted = asyncio.Event()  # a check is due

    def add(self, line_id: int, identity: Identity, units: int = 1) -> None:
        self.identities[line_id] = identity
        self.units[line_id] = units
        self.unverified.add(line_id)

    def discard(self, line_id: int) -> None:
        self.unverified.discard(line_id)

    def reset(self, unverified: set[int] | None = None) -> None:
        """A new basket (nothing to check), or a restored one (its marked lines without verdicts)."""
        self.identities.clear()
        self.units.clear()
        self.unverified = set(unverified or ())

    def want(self) -> None:
        """Check the lines not yet checked (a box settled, a tap)."""
        self._wanted.set()

    async def run(self) -> None:
        while True:
            await self._wanted.wait()
            self._wanted.clear()
            try:
                await self.check_pending()
            except Exception:  # a failed check or write stays with this lane; the next one tries again
                log.exception("lane %s: check failed", self.lane)

    async def check_pending(self) -> None:
        basket = self.basket()
        if basket is None or not self.unverified or self.verifier is None:
            return
        ids = [i for i in sorted(self.unverified) if i in basket.lines and i in self.identities]
        self.unverified.clear()
        if not ids:
            return
        started = time.perf_counter()
        verdicts = await self.verifier.verify(
            [self.identities[i] for i in ids], units=[self.units.get(i, 1) for i in ids]
        )
        self.metrics.latency("check", time.perf_counter() - started)
        for n, (line_id, verdict) in enumerate(zip(ids, verdicts, strict=True)):
            self.metrics.verdicts.labels(verdict.outcome.value).inc()
            if basket is not self.basket() or line_id not in basket.lines:
                continue  # the item left while it was being checked
            ctx = verdict.context
            command = Verdict(
                line_id=line_id,
                outcome=verdict.outcome.value,
                reason=verdict.reasons[0].message if verdict.reasons else "",
                fiscal_1265=verdict.tag_1265,
                fiscal=verdict.fiscal(self.foundation),
                source=ctx.source if ctx else None,
                req_id=ctx.req_id if ctx else None,
                req_timestamp=ctx.req_timestamp if ctx else None,
            )
            try:
                self.journal.apply(basket, command)
            except BasketError:
                continue  # the basket moved on to payment meanwhile: its lines are final
            except StoreError:  # checked again once the store can write
                self.unverified.update(ids[n:])
                self.recheck = True
                return
