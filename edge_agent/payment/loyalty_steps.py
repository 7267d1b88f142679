"""Loyalty at the checkout, before payment: the customer identifies (phone, card or the app's
signed QR), proves the phone with a one-time code, spends points as line discounts held at
central, or walks away and the holds are released. The checkout flow (``flow.py``) is built on
it; every call that moves points carries a key derived from the basket (docs/mqtt.md)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any

from edge_agent.basket import Basket, BasketError, State
from edge_agent.basket.commands import Cancel
from edge_agent.basket.customer import Discount, Identify
from edge_agent.basket.journal import Journal
from edge_agent.config import CheckoutSettings
from edge_agent.loyalty import Allocation, allocate
from edge_agent.payment import loyalty_answers
from edge_agent.payment.loyalty_answers import Identified, Quote, verified_balance
from edge_agent.repositories import Repositories
from edge_agent.sync.rpc import OutcomeUnknown, Requester, ServiceError

log = logging.getLogger("edge_agent.payment")


class LoyaltyAtCheckout:
    """``CheckoutFlow`` sets these up."""

    records: Repositories
    journal: Journal
    requester: Requester
    settings: CheckoutSettings
    _locks: dict[str, asyncio.Lock]
    central_silent_since: float | None

    def _lock(self, basket_id: str) -> asyncio.Lock:
        return self._locks.setdefault(basket_id, asyncio.Lock())

    async def _call(
        self, service: str, op: str, data: Mapping[str, object], *, key: str | None, basket_id: str
    ) -> Mapping[str, Any]:
        """Central's answer as it came (JSON): the caller parses it into its type. Whether
        central answers at all is kept (``central_silent_since``: a lane fault for kiosks and staff)."""
        try:
            answer = await self.requester.call(
                service,
                op,
                data,
                key,
                basket_id=basket_id,
                timeout_s=self.settings.request_timeout_s,
                attempts=self.settings.request_attempts,
            )
        except OutcomeUnknown:
            if self.central_silent_since is None:
                self.central_silent_since = time.monotonic()
            raise
        except ServiceError:
            self.central_silent_since = None  # a refusal is an answer
            raise
        self.central_silent_since = None
        return answer

    # -- loyalty before payment ---------------------------------------------------------------
    async def identify(self, basket: Basket, kind: str, ref: str) -> Identified:
        """The customer shows a phone number, a loyalty card or the app's signed QR code. A phone
        or a card is enough to accrue points; central sends a one-time code to the customer's
        phone, and only ``verify`` with it (or the app's QR) shows the balance and lets points be spent."""
        answer = await self._call(
            "loyalty", "identify", {"kind": kind, "ref": ref, "basket": basket.id}, key=None, basket_id=basket.id
        )
        who = Identified.from_json(answer)
        contact = ref if kind == "phone" else None
        self.journal.apply(basket, Identify(customer=who.customer, contact=contact, verified=who.verified))
        return who

    async def verify(self, basket: Basket, code: str) -> int:
        """The one-time code the customer received: possession of the phone on file. Returns the
        balance the customer may now spend."""
        if basket.customer is None:
            raise BasketError("no_customer", "identify the customer first")
        answer = await self._call(
            "loyalty",
            "verify",
            {"customer": basket.customer, "code": code, "basket": basket.id},
            key=None,
            basket_id=basket.id,
        )
        balance = verified_balance(answer)
        self.journal.apply(basket, Identify(customer=basket.customer, contact=basket.contact, verified=True))
        return balance

    async def redeem(self, basket: Basket, points: int | None = None) -> Allocation:
        """Hold points for a READY_TO_PAY basket and spread them over its eligible lines as
        discounts (``points`` None: as many as the program allows)."""
        if basket.customer is None:
            raise BasketError("no_customer", "identify the customer first")
        if not basket.verified:
            raise BasketError("not_verified", "points are spent only after the code sent to the customer's phone")
        if basket.state is not State.READY_TO_PAY:
            raise BasketError("wrong_state", f"basket is {basket.state.value}; redemption needs READY_TO_PAY")
        lines = [(line.id, line.card_amount, line.category) for line in basket.lines.values()]
        wire = [{"line": i, "price": p, "category": c} for i, p, c in lines]
        quote = Quote.from_json(
            await self._call(
                "loyalty",
                "quote",
                {"customer": basket.customer, "lines": wire, "basket": basket.id},
                key=None,
                basket_id=basket.id,
            )
        )
        wanted = quote.max_redeem_points if points is None else points
        plan = allocate(
            lines,
            wanted,
            point_value_kop=quote.point_value_kop,
            max_redeem_pct=quote.max_redeem_pct,
            excluded=quote.excluded_categories,
            balance=quote.balance,
        )
        if plan.points == 0:
            return plan
        # stable for the same basket content and attempt: a retry after a crash finds the same hold
        n = len(self.records.payments.of_basket(basket.id)) + 1
        key = f"{basket.id}:hold:{n}:{plan.points}:{plan.kopecks}"
        await self._release_stale_holds(basket, keep=key)
        answer = await self._call(
            "loyalty",
            "hold",
            {"customer": basket.customer, "points": plan.points, "basket": basket.id},
            key=key,
            basket_id=basket.id,
        )
        held = loyalty_answers.hold_id(answer)
        self.journal.apply(basket, Discount(allocation=dict(plan.lines), hold_id=held, points=plan.points))
        return plan

    async def cancel(self, basket: Basket) -> None:
        """The customer walks away before paying: the hold is released, the basket cancelled."""
        async with self._lock(basket.id):
            if basket.state not in (
                State.OPEN,
                State.SCANNING,
                State.NEEDS_ASSISTANCE,
                State.CHECKOUT,
                State.READY_TO_PAY,
            ):
                raise BasketError("wrong_state", f"basket is {basket.state.value}; it cannot be cancelled now")
            try:
                if basket.hold_id is not None:
                    await self._call(
                        "loyalty",
                        "release",
                        {"hold_id": basket.hold_id},
                        key=f"{basket.hold_id}:release",
                        basket_id=basket.id,
                    )
                await self._release_stale_holds(basket)
            except OutcomeUnknown as e:  # central is silent: the shopper is not held back by it
                log.warning("basket %s: points not released (%s): their hold lapses at central", basket.id, e)
            self.journal.apply(basket, Cancel())

    async def _release_stale_holds(self, basket: Basket, keep: str | None = None) -> None:
        """Holds taken for this basket that its lines no longer carry (the basket changed after
        redemption) are released, so no points stay blocked until the TTL. ``keep``: the key of
        the hold about to be (re)used."""
        for hold_id in self._holds(basket, keep):
            if hold_id != basket.hold_id:
                await self._call(
                    "loyalty", "release", {"hold_id": hold_id}, key=f"{hold_id}:release", basket_id=basket.id
                )

    def _holds(self, basket: Basket, keep: str | None = None) -> list[str]:
        """The loyalty holds taken for this basket (but the one under key ``keep``)."""
        holds = []
        for key, response in self.records.requests.answers(basket.id, "loyalty", "hold"):
            hold_id = (response.get("result") or {}).get("hold_id")
            if hold_id and key != keep:
                holds.append(str(hold_id))
        return holds
