"""A lane's age documents: a shopper's digital-ID QR, read by the lane's scanner, is decided by
the age-document service (``edge_agent/age``) on a task of its own and journaled as the
decision alone (``AgeChecked``: outcome, reason, age, a digest of the token id; no personal data).

An accepted document resolves the basket's age problems it covers; a refused one leaves them
for staff and the kiosk says why and what to do; a service that does not answer leaves them to
staff within its timeout (≤ 1.8 s), so the shopper is never left waiting on it. Alcohol hours
and every other rule are problems of their own and stay.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from edge_agent.age import AgeBackend, AgeDecision
from edge_agent.basket import AgeProof, Basket, BasketError, State
from edge_agent.basket.customer import AgeChecked
from edge_agent.basket.journal import Journal
from edge_agent.db import StoreError
from edge_agent.metrics import Metrics

log = logging.getLogger("edge_agent.lanes")


def needed_age(basket: Basket) -> int:
    """The age the basket's open age problems ask for (0: none open)."""
    return max((p.min_age for p in basket.problems.values() if p.open and p.code == "AGE_RESTRICTED"), default=0)


def judged(decision: AgeDecision, needed: int) -> AgeDecision:
    """A valid document that proves too young an age is refused as ``underage``."""
    if decision.outcome == "accepted" and decision.age_over < needed:
        return AgeDecision("refused", "underage", decision.age_over, decision.method, decision.ref)
    return decision


class LaneAge:
    def __init__(
        self, lane: str, *, backend: AgeBackend, journal: Journal, metrics: Metrics, basket: Callable[[], Basket | None]
    ) -> None:
        self.lane, self.backend, self.journal, self.metrics, self.basket = lane, backend, journal, metrics, basket
        self._tasks: set[asyncio.Task[AgeDecision | None]] = set()

    def recognizes(self, text: str) -> bool:
        return self.backend.recognizes(text)

    def shown(self, text: str) -> None:
        """A document was scanned at this lane: decided on a task of its own."""
        task = asyncio.get_running_loop().create_task(self.decide(text), name=f"age-{self.lane}")
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[AgeDecision | None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (e := task.exception()) is not None:
            log.error("lane %s: an age document could not be decided", self.lane, exc_info=e)

    async def decide(self, text: str) -> AgeDecision | None:
        basket = self.basket()
        if basket is None or basket.state not in (State.NEEDS_ASSISTANCE, State.SCANNING, State.OPEN):
            log.info("lane %s: an age document shown with no basket to prove it for", self.lane)
            return None
        decision = judged(await self.backend.decide(text), needed_age(basket))
        self.metrics.age_documents.labels(decision.outcome, decision.reason or "ok").inc()
        if basket is not self.basket():
            return decision  # the basket ended while the issuer answered
        proof = AgeProof(decision.outcome, decision.reason, decision.age_over, decision.method, datetime.now(UTC))
        try:
            resolved = self.journal.apply(basket, AgeChecked(proof=proof, device=self.lane, ref=decision.ref))
        except (BasketError, StoreError) as e:
            log.warning("lane %s: age decision %s not recorded: %s", self.lane, decision.outcome, e)
            return decision
        log.info(
            "lane %s: digital ID %s %s (%d age problems resolved)",
            self.lane,
            decision.outcome,
            decision.reason,
            resolved,
        )
        return decision
