"""The shopper's wait at the kiosk while a payment is made: the customer's tap or scan (woken
by central's notification, else polled), how long central has been silent, the shopper's
cancel, and the clock all of it is measured on. ``CheckoutFlow`` (``flow.py``) is built on it."""

from __future__ import annotations

import asyncio
import time

from edge_agent.basket import Basket, State
from edge_agent.clock import Mono
from edge_agent.payment.loyalty_steps import LoyaltyAtCheckout
from edge_agent.payment.provider import ProviderPayment
from edge_agent.payment.steps import WAITING, Attempt, AwaitCustomer
from edge_agent.sync.rpc import OutcomeUnknown, ServiceError


class CustomerWaits(LoyaltyAtCheckout):
    """``CheckoutFlow`` sets these up and drives the attempts."""

    _news: dict[str, asyncio.Event]
    _background: set[asyncio.Task[None]]
    _waits: Waits
    _cancelled: set[str]
    _answered: dict[str, float]

    def _attempt(self, pid: str) -> Attempt:
        raise NotImplementedError

    async def _drive(self, pid: str) -> object:
        raise NotImplementedError

    async def probe_central(self) -> bool:
        """While central has been silent, ask it something harmless (a payment that does not
        exist): any answer, a refusal too, ends the "payments down" fault. Without it, kiosks that
        stopped taking payments because central was silent would never call it again to learn it
        is back. True when central answered (or was never silent)."""
        if self.central_silent_since is None:
            return True
        try:
            await self._call("payment", "get", {"id": "probe"}, key=None, basket_id="probe")
        except ServiceError:
            pass  # "no such payment": an answer
        except OutcomeUnknown:
            return False
        return self.central_silent_since is None

    def _silent_for(self, attempt: Attempt) -> float:
        """How long central has not answered this attempt: since its last answer, else its start."""
        answered = self._answered.get(attempt.id)
        if answered is not None:
            return time.monotonic() - answered
        return self._waits.age(f"{attempt.id}:wait", attempt.started, attempt.started_mono)

    def cancel_payment(self, basket: Basket) -> bool:
        """The shopper cancels the payment they are making (the card terminal waits, or central
        has not answered): its driver stops waiting and records it; the basket may then be
        paid another way, or cancelled. An attempt already paid is not undone. False: no
        payment of this basket is waiting."""
        if basket.state is not State.PAYMENT_PENDING or basket.payment_id is None:
            return False
        attempt = self._attempt(basket.payment_id)
        if attempt.step not in WAITING:
            return False
        self._cancelled.add(attempt.id)
        if attempt.payment is not None and (news := self._news.get(attempt.payment.id)) is not None:
            news.set()  # its driver is waiting for the customer: it asks central once more, then stops
        if not self._lock(basket.id).locked():  # nobody drives it now (central down): drive it to its end here
            task = asyncio.create_task(self._drive_locked(attempt.id, basket.id))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        return True

    async def _drive_locked(self, pid: str, basket_id: str) -> None:
        async with self._lock(basket_id):
            await self._drive(pid)

    async def _get_payment(self, provider: str, basket_id: str) -> ProviderPayment:
        answer = await self._call("payment", "get", {"id": provider}, key=None, basket_id=basket_id)
        return ProviderPayment.from_json(answer)

    async def _wait_for_customer(self, attempt: Attempt, wait: AwaitCustomer) -> ProviderPayment:
        """Ask for the payment's state until the customer has acted or the kiosk's patience ends."""
        provider = wait.provider_id
        payment = attempt.payment
        if payment is None:
            raise ValueError(f"payment {attempt.id}: waiting for a customer without a payment")
        news = self._news.setdefault(provider, asyncio.Event())
        # the kiosk's patience on the monotonic clock: a wall clock that jumps cancels nothing
        patience = wait.deadline - attempt.started
        waited = self._waits.age(f"{attempt.id}:wait", attempt.started, attempt.started_mono)
        deadline = time.monotonic() + patience - waited
        try:
            while (
                payment.status == "PENDING_CUSTOMER"
                and time.monotonic() < deadline
                and attempt.id not in self._cancelled
            ):
                try:  # a notification, or the next poll, whichever comes first
                    left = max(0.0, deadline - time.monotonic())
                    await asyncio.wait_for(news.wait(), min(self.settings.poll_s, left))
                except TimeoutError:
                    payment = await self._get_payment(provider, attempt.basket_id)
                    continue
                news.clear()
                # a notification only says "ask now": anyone on the broker could have sent it, so
                # the state that counts is the one central answers to payment.get
                payment = await self._get_payment(provider, attempt.basket_id)
            return payment
        finally:
            self._news.pop(provider, None)


class Waits:
    """How long each wait of an attempt has lasted, on the monotonic clock: from its monotonic
    start when that was recorded in this boot (a restart of the daemon included); else anchored
    once by its recorded wall-clock start and on the monotonic clock from there. So a wall clock
    that jumps (an NTP step, a VM resumed) neither ends a wait early nor stretches it."""

    def __init__(self) -> None:
        self._began: dict[str, float] = {}

    def age(self, key: str, wall_start: float | None, mono_start: Mono | None) -> float:
        if mono_start is not None and (age := mono_start.age()) is not None:
            return age
        began = self._began.get(key)
        if began is None:
            behind = max(0.0, time.time() - wall_start) if wall_start is not None else 0.0
            began = self._began[key] = time.monotonic() - behind
        return time.monotonic() - began

    def forget(self, attempt_id: str) -> None:
        for key in [k for k in self._began if k.startswith(f"{attempt_id}:")]:
            del self._began[key]
