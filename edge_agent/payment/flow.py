"""The checkout: loyalty and payment with central, crash-safe (reference/flows.md §1-2, §4.4).

Every call that moves money or points carries an idempotency key derived from the basket and
the attempt (``{basket}:pay:{n}:create``, ``…:capture``, ``{hold}:release``), written to SQLite
before it is first sent (``sync.rpc``), and every step of a payment attempt is a row in
``payments`` written in the same transaction as the basket command it goes with. So after a
crash or ``kill -9`` at any instant, ``resume()`` carries each attempt on from its last
committed step, re-sending with the same keys: central answers from its record and nothing
happens twice.

A payment attempt's steps:

    creating ─create─► pending ─customer paid (card: AUTHORIZED)─► capturing ─capture─► loyalty ─► done
                         │        (SBP: CAPTURED at once) ───────────────────────────► loyalty
                         ├─declined / expired─► failed        (basket back to READY_TO_PAY)
                         └─customer too slow─► abandoned ─► failed (cancelled, or never paid)
                                                        └─► refunded (a late success, plus an alert)

The basket is final (PAID: sold set, transaction.posted, EPCIS) before the capture, so the
capture only ever follows a sale that is recorded; loyalty commits the hold and accrues, both
keyed by the transaction id, after the money is captured.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from edge_agent.basket import Basket, BasketError, State
from edge_agent.config import Checkout as CheckoutSettings
from edge_agent.loyalty import Allocation, allocate
from edge_agent.store import Store
from edge_agent.sync.rpc import OutcomeUnknown, Requester, ServiceError

log = logging.getLogger("edge_agent.payment")
FINAL: Final = frozenset({"done", "failed", "refunded"})
PAID: Final = frozenset({"AUTHORIZED", "CAPTURED"})

#: (basket, its lane's topic prefix) for a basket id, or None when it is not live here
Lookup = Callable[[str], tuple[Basket, str] | None]


@dataclass(frozen=True, slots=True)
class PaymentOutcome:
    result: str  # paid, declined, timeout, unknown (central did not answer: resumed in the background)
    payment_id: str
    message: str = ""
    payment: dict[str, Any] = field(default_factory=dict)


def _now() -> str:
    return datetime.now(UTC).isoformat()


class Checkout:
    def __init__(self, store: Store, requester: Requester, settings: CheckoutSettings, lookup: Lookup) -> None:
        self.store, self.requester, self.settings, self.lookup = store, requester, settings, lookup
        self._locks: dict[str, asyncio.Lock] = {}
        self._news: dict[str, asyncio.Event] = {}  # provider payment id -> "a notification came"
        self._latest: dict[str, dict[str, Any]] = {}
        self.alerts = 0
        self.notifications = 0

    def notified(self, ev: Any) -> None:
        """Central says a payment moved (``payment.status_changed``): wake its waiter now
        rather than at the next poll. Duplicates were dropped by the caller."""
        if ev.type != "payment.status_changed" or not isinstance(ev.data, dict) or "id" not in ev.data:
            return
        self.notifications += 1
        self._latest[ev.data["id"]] = ev.data
        self._news.setdefault(ev.data["id"], asyncio.Event()).set()

    def _lock(self, basket_id: str) -> asyncio.Lock:
        return self._locks.setdefault(basket_id, asyncio.Lock())

    async def _call(
        self, service: str, op: str, data: dict[str, Any], key: str | None, basket_id: str
    ) -> dict[str, Any]:
        return await self.requester.call(service, op, data, key, basket_id=basket_id,
                                         timeout_s=self.settings.request_timeout_s,
                                         attempts=self.settings.request_attempts)  # fmt: skip

    # -- loyalty before payment ---------------------------------------------------------------
    async def identify(self, basket: Basket, prefix: str, kind: str, ref: str) -> dict[str, Any]:
        """The customer shows a phone number, a loyalty card or the app's QR code."""
        result = await self._call("loyalty", "identify", {"kind": kind, "ref": ref}, None, basket.id)
        self.store.apply(basket, "identify", {"customer": result["customer"]}, prefix)
        return result

    async def redeem(self, basket: Basket, prefix: str, points: int | None = None) -> Allocation:
        """Hold points for a READY_TO_PAY basket and spread them over its eligible lines as
        discounts (``points`` None: as many as the program allows)."""
        if basket.customer is None:
            raise BasketError("no_customer", "identify the customer first")
        if basket.state is not State.READY_TO_PAY:
            raise BasketError("wrong_state", f"basket is {basket.state.value}; redemption needs READY_TO_PAY")
        lines = [(line.id, line.price, line.category) for line in basket.lines.values()]
        wire = [{"line": i, "price": p, "category": c} for i, p, c in lines]
        quote = await self._call("loyalty", "quote", {"customer": basket.customer, "lines": wire}, None, basket.id)
        program = quote["program"]
        wanted = quote["max_redeem_points"] if points is None else points
        plan = allocate(lines, wanted, program["point_value_kop"], program["max_redeem_pct"],
                        frozenset(program["excluded_categories"]), balance=quote["balance"])  # fmt: skip
        if plan.points == 0:
            return plan
        # stable for the same basket content and attempt: a retry after a crash finds the same hold
        n = len(self.store.payments_of(basket.id)) + 1
        key = f"{basket.id}:hold:{n}:{plan.points}:{plan.kopecks}"
        await self._release_stale_holds(basket, keep=key)
        hold = await self._call("loyalty", "hold", {"customer": basket.customer, "points": plan.points,
                                                    "basket": basket.id}, key, basket.id)  # fmt: skip
        self.store.apply(basket, "discount", {"allocation": {str(k): v for k, v in plan.lines.items()},
                                              "hold_id": hold["hold_id"], "points": plan.points}, prefix)  # fmt: skip
        return plan

    async def cancel(self, basket: Basket, prefix: str) -> None:
        """The customer walks away before paying: the hold is released, the basket cancelled."""
        async with self._lock(basket.id):
            if basket.state not in (State.OPEN, State.SCANNING, State.NEEDS_ASSISTANCE, State.CHECKOUT,
                                    State.READY_TO_PAY):  # fmt: skip
                raise BasketError("wrong_state", f"basket is {basket.state.value}; it cannot be cancelled now")
            if basket.hold_id is not None:
                await self._call("loyalty", "release", {"hold_id": basket.hold_id}, f"{basket.hold_id}:release",
                                 basket.id)  # fmt: skip
            await self._release_stale_holds(basket)
            self.store.apply(basket, "cancel", {}, prefix)

    async def _release_stale_holds(self, basket: Basket, keep: str | None = None) -> None:
        """Holds taken for this basket that its lines no longer carry (the basket changed after
        redemption) are released, so no points stay blocked until the TTL. ``keep``: the key of
        the hold about to be (re)used."""
        for key, response in self.store.answers(basket.id, "loyalty", "hold"):
            hold_id = (response.get("result") or {}).get("hold_id")
            if hold_id and hold_id != basket.hold_id and key != keep:
                await self._call("loyalty", "release", {"hold_id": hold_id}, f"{hold_id}:release", basket.id)

    # -- payment ------------------------------------------------------------------------------
    async def pay(self, basket: Basket, prefix: str, method: str, instrument: str = "ok") -> PaymentOutcome:
        """Start a payment attempt for a READY_TO_PAY basket and see it through."""
        async with self._lock(basket.id):
            if basket.state is not State.READY_TO_PAY:
                raise BasketError("wrong_state", f"basket is {basket.state.value}; payment needs READY_TO_PAY")
            pid = f"{basket.id}:pay:{len(self.store.payments_of(basket.id)) + 1}"
            detail = {"instrument": instrument, "started": time.time()}
            amount = basket.total

            def record(conn: Any) -> None:
                self.store.save_payment(pid, basket.id, method, amount, "creating", detail=detail, conn=conn)

            self.store.apply(basket, "start_payment", {"payment_id": pid}, prefix, also=record)
            return await self._drive(pid)

    async def resume(self) -> int:
        """Carry every unfinished attempt on from its last committed step (start-up, and every
        few seconds for attempts waiting on central or on a customer who walked away)."""
        count = 0
        for row in self.store.open_payments():
            lock = self._lock(row["basket_id"])
            if lock.locked():
                continue  # the kiosk is driving it right now
            async with lock:
                await self._drive(row["id"])
                count += 1
        return count

    async def _drive(self, pid: str) -> PaymentOutcome:
        row = self.store.payment_row(pid)
        assert row is not None
        found = self.lookup(row["basket_id"])
        try:
            while row["step"] not in FINAL:
                outcome = await self._step(row, found)
                row = self.store.payment_row(pid) or row
                if outcome is not None:
                    return outcome
        except OutcomeUnknown as e:
            log.warning("payment %s: %s; it is resumed in the background", pid, e)
            return PaymentOutcome("unknown", pid, str(e))
        return PaymentOutcome(_final_result(row), pid, row["detail"].get("message", ""),
                              row["detail"].get("payment", {}))  # fmt: skip

    async def _step(self, row: dict[str, Any], found: tuple[Basket, str] | None) -> PaymentOutcome | None:
        pid, step, bid = row["id"], row["step"], row["basket_id"]
        detail = dict(row["detail"])

        def save(step: str, payment: dict[str, Any] | None = None, message: str = "", conn: Any = None) -> None:
            if payment is not None:
                detail["payment"] = payment
            if message:
                detail["message"] = message
            status = payment.get("status") if payment else None
            provider = payment.get("id") if payment else None
            self.store.save_payment(pid, bid, row["method"], row["amount"], step, provider, status, detail, conn)

        if step == "creating":
            data = {"basket": bid, "method": row["method"], "amount": row["amount"],
                    "instrument": detail.get("instrument", "ok")}  # fmt: skip
            try:
                payment = await self._call("payment", "create", data, f"{pid}:create", bid)
            except ServiceError as e:
                err = e
                self._journal(found, "payment_result", {"approved": False, "at": _now(), "message": err.message},
                              lambda c: save("failed", err.result, err.message, c))  # fmt: skip
                return PaymentOutcome("declined", pid, err.message)
            save("pending", payment)
            return None
        if step == "pending":
            payment = await self._wait_for_customer(row)
            status = payment["status"]
            if status in PAID:
                tender = {"payment_id": payment["id"], "method": row["method"], "amount": row["amount"]}
                nxt = "capturing" if status == "AUTHORIZED" else "loyalty"
                self._journal(found, "payment_result", {"approved": True, "at": _now(), "tender": tender},
                              lambda c: save(nxt, payment, conn=c))  # fmt: skip
                return None
            if status == "CANCELED":
                reason = (payment.get("cancellation_details") or {}).get("reason", "declined")
                self._journal(found, "payment_result", {"approved": False, "at": _now(), "message": reason},
                              lambda c: save("failed", payment, reason, c))  # fmt: skip
                return PaymentOutcome("declined", pid, reason, payment)
            message = "the customer did not pay in time"
            self._journal(found, "payment_result", {"approved": False, "at": _now(), "message": message},
                          lambda c: save("abandoned", payment, message, c))  # fmt: skip
            return PaymentOutcome("timeout", pid, message, payment)
        if step == "capturing":
            provider = detail["payment"]["id"]
            try:
                payment = await self._call("payment", "capture", {"id": provider}, f"{pid}:capture", bid)
            except ServiceError as e:  # the authorization lapsed: the sale is recorded, the money is not
                self._alert(found, "alert.capture_failed", {"payment": pid, "error": e.code, "message": e.message})
                save("failed", e.result, f"capture failed: {e.message}")
                return None
            save("loyalty", payment)
            return None
        if step == "loyalty":
            basket = found[0] if found else None
            if basket is not None:
                await self._release_stale_holds(basket)
            if basket is not None and basket.hold_id is not None:
                await self._call("loyalty", "commit", {"hold_id": basket.hold_id, "transaction_id": bid},
                                 f"{pid}:commit", bid)  # fmt: skip
            if basket is not None and basket.customer is not None:
                lines = [{"price": line.amount, "category": line.category} for line in basket.lines.values()]
                await self._call("loyalty", "accrue", {"customer": basket.customer, "transaction_id": bid,
                                                       "lines": lines, "redeemed": basket.hold_id is not None},
                                 f"{pid}:accrue", bid)  # fmt: skip
            if basket is not None and basket.state is State.PAID:
                self._journal(found, "close", {}, lambda c: save("done", conn=c))
            else:
                save("done")
            return None
        if step == "abandoned":
            payment = await self._call("payment", "get", {"id": detail["payment"]["id"]}, None, bid)
            status = payment["status"]
            if status == "AUTHORIZED":
                payment = await self._call("payment", "cancel", {"id": payment["id"]}, f"{pid}:cancel", bid)
                save("failed", payment, "authorized after the kiosk gave up: cancelled")
            elif status == "CAPTURED":
                ask = {"payment_id": payment["id"], "amount": payment["amount"]}
                refund = await self._call("payment", "refund", ask, f"{pid}:refund", bid)
                fact = {"payment": pid, "provider": payment["id"], "refund": refund["id"], "amount": refund["amount"]}
                self._alert(found, "alert.late_payment_refunded", fact)
                save("refunded", refund["payment"], "paid after the kiosk gave up: refunded")
            elif status == "CANCELED":
                save("failed", payment)
            else:
                return PaymentOutcome("timeout", pid, "still pending at the provider", payment)
            return None
        raise RuntimeError(f"payment {pid}: unknown step {step!r}")

    async def _wait_for_customer(self, row: dict[str, Any]) -> dict[str, Any]:
        """Ask for the payment's state until the customer has acted or the kiosk's patience ends."""
        provider = row["detail"]["payment"]["id"]
        deadline = row["detail"].get("started", time.time()) + self.settings.customer_timeout_s
        payment: dict[str, Any] = row["detail"]["payment"]
        news = self._news.setdefault(provider, asyncio.Event())
        try:
            while payment["status"] == "PENDING_CUSTOMER" and time.time() < deadline:
                try:  # a notification, or the next poll, whichever comes first
                    await asyncio.wait_for(news.wait(), min(self.settings.poll_s, max(0.0, deadline - time.time())))
                except TimeoutError:
                    payment = await self._call("payment", "get", {"id": provider}, None, row["basket_id"])
                    continue
                news.clear()
                payment = self._latest.get(provider, payment)
            return payment
        finally:
            self._news.pop(provider, None)
            self._latest.pop(provider, None)

    def _journal(self, found: tuple[Basket, str] | None, op: str, args: dict[str, Any],
                 also: Callable[[Any], None]) -> None:  # fmt: skip
        if found is None:  # the basket is not live here (closed meanwhile): the step alone
            with self.store.transaction() as conn:
                also(conn)
            return
        basket, prefix = found
        self.store.apply(basket, op, args, prefix, also=also)

    def _alert(self, found: tuple[Basket, str] | None, type_: str, data: dict[str, Any]) -> None:
        self.alerts += 1
        log.error("%s: %s", type_, data)
        if found is not None:
            self.store.announce(found[1], type_, data, found[0].id)


def _final_result(row: dict[str, Any]) -> str:
    if row["step"] == "done":
        return "paid"
    return "declined" if row["step"] == "failed" else row["step"]
