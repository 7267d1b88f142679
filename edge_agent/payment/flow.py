"""The checkout: loyalty and payment with central, crash-safe (docs/mqtt.md, docs/adr/0007).

Every call that moves money or points carries an idempotency key derived from the basket and
the attempt (``{basket}:pay:{n}:create``, ``…:capture``, ``{hold}:release``), written to SQLite
before it is first sent (``sync.rpc``). A payment attempt is the pure state machine of
``payment/steps.py``; this file is its thin loop: perform the step's action, write the
transition (step row, basket command, alert) in one transaction, repeat. After a crash or
``kill -9`` at any instant, ``resume()`` carries each attempt on from its last committed step,
re-sending with the same keys: central answers from its record and nothing happens twice.

The basket is final (PAID: sold set, transaction.posted, EPCIS) before the capture, so the
capture only ever follows a sale that is recorded; loyalty commits the hold and accrues, both
keyed by the transaction id, after the money is captured.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Final

from edge_agent.basket import Basket, BasketError, State
from edge_agent.basket.commands import StartPayment
from edge_agent.basket.customer import EgaisAnswered
from edge_agent.clock import Mono
from edge_agent.config import CheckoutSettings
from edge_agent.errors import EdgeError
from edge_agent.fiscal.desk import Fiscal
from edge_agent.fiscal.receipt import ReceiptError, Tender, sell_receipt
from edge_agent.fiscal.register import RegisterError
from edge_agent.payment.methods import method_of
from edge_agent.payment.provider import AnswerError, ProviderPayment, Refund, payment_answer
from edge_agent.payment.steps import (
    CANCELLED,
    FINAL,
    NO_ANSWER,
    PAID_STATUSES,
    WAITING,
    Accrued,
    Action,
    Answer,
    Attempt,
    AwaitCustomer,
    BasketFacts,
    Calls,
    Fiscalize,
    Ok,
    Refused,
    Step,
    Transition,
    final_result,
    given_up,
    next_action,
    on_answer,
)
from edge_agent.payment.waiting import CustomerWaits, Waits
from edge_agent.repositories import Repositories
from edge_agent.sync.rpc import OutcomeUnknown, Requester, ServiceError
from edge_agent.wire.envelope import Event

log = logging.getLogger("edge_agent.payment")
START_WAIT_S: Final = 5.0  # the kiosk's "pay" answers once the provider has the payment, or after this

#: the live basket of a basket id, or None when it is not live here
Lookup = Callable[[str], Basket | None]


@dataclass(frozen=True, slots=True)
class PaymentOutcome:
    result: str  # paid, declined, timeout, unknown (central did not answer: resumed in the background)
    payment_id: str
    message: str = ""
    payment: ProviderPayment | None = None


class CheckoutFlow(CustomerWaits):
    def __init__(
        self,
        records: Repositories,
        requester: Requester,
        *,
        settings: CheckoutSettings,
        lookup: Lookup,
        fiscal: Fiscal | None = None,
    ) -> None:
        self.records, self.requester, self.settings, self.lookup = records, requester, settings, lookup
        self.journal = records.journal
        self.fiscal = fiscal or Fiscal({})
        self._locks: dict[str, asyncio.Lock] = {}
        self._news: dict[str, asyncio.Event] = {}  # provider payment id -> "a notification came"
        self._created: dict[str, asyncio.Event] = {}  # basket id -> its attempt left "creating"
        self._background: set[asyncio.Task[None]] = set()
        self._waits = Waits()
        #: attempts the shopper cancelled at the kiosk (their driver stops waiting and records it)
        self._cancelled: set[str] = set()
        #: attempt id -> when central last answered it (monotonic): its silence is measured from there
        self._answered: dict[str, float] = {}
        #: since when central's services have not answered (monotonic), or None: a lane fault
        self.central_silent_since: float | None = None
        #: called when a kiosk's payment is over with (lane, result: paid, declined, timeout,
        #: unknown or error, seconds from "pay" to it)
        self.finished: list[Callable[[str, str, float], None]] = []
        #: told of a lane whose payment moved a step without its basket changing (the kiosk
        #: shows "tap your card" once the provider has the payment, "printing" at the receipt)
        self.moved: list[Callable[[str], None]] = []
        self.alerts = 0
        self.notifications = 0

    def notified(self, ev: Event) -> None:
        """Central says a payment moved (``payment.status_changed``): wake its waiter now
        rather than at the next poll; the waiter asks central for the state (a notification is
        never trusted alone). Duplicates were dropped by the caller."""
        if ev.type != "payment.status_changed" or not isinstance(ev.data, dict) or "id" not in ev.data:
            return
        self.notifications += 1
        self._news.setdefault(ev.data["id"], asyncio.Event()).set()

    # -- payment ------------------------------------------------------------------------------
    async def start_payment(self, basket: Basket, method: str, *, wait_s: float = START_WAIT_S) -> None:
        """The kiosk's "pay": start an attempt and return once the provider has it (SBP: its QR
        is there to show) or after ``wait_s``; the attempt goes on to its outcome in the
        background, and ``finished`` hears of its lane when it is over. What refuses before the
        attempt exists (the basket's state, the method, the register) is raised."""
        if basket.state is not State.READY_TO_PAY:
            raise BasketError("wrong_state", f"basket is {basket.state.value}; payment needs READY_TO_PAY")
        method_of(method)
        started = time.perf_counter()
        await self.register_ready(basket)  # the lane's register can print and has checked every code
        await self.egais_ready(basket)  # the УТМ took the bottles, or the kiosk hears why not
        created = self._created.setdefault(basket.id, asyncio.Event())
        task = asyncio.create_task(self._pay_in_background(basket, method, started))
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        waiting = asyncio.create_task(created.wait())
        try:
            await asyncio.wait({task, waiting}, timeout=wait_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiting.cancel()

    async def _pay_in_background(self, basket: Basket, method: str, started: float) -> None:
        result = "error"
        try:
            result = (await self.pay(basket, method)).result
        except EdgeError as e:
            log.warning("lane %s: payment failed to start: %s", basket.lane, e)
        finally:
            self._created.pop(basket.id, None)
            for listener in self.finished:
                listener(basket.lane, result, time.perf_counter() - started)

    async def pay(self, basket: Basket, method: str) -> PaymentOutcome:
        """Start a payment attempt for a READY_TO_PAY basket and see it through."""
        method_of(method)
        async with self._lock(basket.id):
            if basket.state is not State.READY_TO_PAY:
                raise BasketError("wrong_state", f"basket is {basket.state.value}; payment needs READY_TO_PAY")
            await self.register_ready(basket)
            await self.egais_ready(basket)
            pid = f"{basket.id}:pay:{len(self.records.payments.of_basket(basket.id)) + 1}"
            attempt = Attempt(
                id=pid,
                basket_id=basket.id,
                method=method,
                amount=basket.total,
                step=Step.CREATING,
                started=time.time(),
                started_mono=Mono.now(),
            )

            def record(conn: sqlite3.Connection) -> None:
                self._save(attempt, conn)

            self.journal.apply(basket, StartPayment(pid), also=record)
            return await self._drive(pid)

    async def register_ready(self, basket: Basket) -> None:
        """On a lane with a fiscal register: it can print, and it has checked every mark code
        (what it did not check while the customer scanned, it checks now)."""
        desk = self.fiscal.desks.get(basket.lane)
        if desk is None:
            return
        reason = desk.refusal()
        if reason is not None:
            raise BasketError("register_unavailable", reason)
        try:
            await desk.check_rest(basket)
        except RegisterError as e:
            raise BasketError("register_unavailable", f"the receipt printer does not answer: {e.message}") from None
        if basket.state is not State.READY_TO_PAY:
            raise BasketError("open_problems", "the register refused a mark code: staff needed")

    async def egais_ready(self, basket: Basket) -> None:
        """Stamped bottles: the store's УТМ accepts them before any money moves, or each is a
        problem (set aside) and the rest of the basket is paid (``egais/sales.py``)."""
        if not any(line.egais for line in basket.lines.values()):
            return
        if self.fiscal.egais is None:
            why = "this store does not sell stamped alcohol at the kiosk ([egais] is off)"
            self.journal.apply(basket, EgaisAnswered(cheque="", refusal=why, code="EGAIS_UNAVAILABLE"))
            raise BasketError("egais_unavailable", why)
        await self.fiscal.egais.sell(basket)

    async def resume(self) -> int:
        """Carry every unfinished attempt on from its last committed step (start-up, and every
        few seconds for attempts waiting on central or on a customer who walked away)."""
        count = 0
        for row in self.records.payments.unfinished():
            lock = self._lock(row.basket_id)
            if lock.locked():
                continue  # the kiosk is driving it right now
            async with lock:
                await self._drive(row.id)
                count += 1
        return count

    def _attempt(self, pid: str) -> Attempt:
        row = self.records.payments.get(pid)
        if row is None:
            raise KeyError(f"no payment attempt {pid}")
        return Attempt.from_row(row)

    async def _drive(self, pid: str) -> PaymentOutcome:
        attempt = self._attempt(pid)
        while attempt.step not in FINAL:
            if pid in self._cancelled and attempt.step in WAITING:
                return self._give_up(attempt, CANCELLED)
            basket = self.lookup(attempt.basket_id)
            facts = self._facts(basket)
            action = next_action(attempt, facts, self.settings.customer_timeout_s)
            try:
                answer = await self._perform(action, attempt)
            except (OutcomeUnknown, AnswerError) as e:
                if attempt.step not in WAITING:
                    log.warning("payment %s: %s; it is resumed in the background", pid, e)
                    return PaymentOutcome("unknown", pid, str(e))
                if pid in self._cancelled or self._silent_for(attempt) >= self.settings.answer_s:
                    # the shopper is not kept waiting on a service that does not answer: they
                    # are told, staff alerted, and the attempt is resolved in the background
                    log.warning("payment %s: %s; the shopper is told, it is resolved in the background", pid, e)
                    return self._give_up(attempt, CANCELLED if pid in self._cancelled else NO_ANSWER)
                await asyncio.sleep(max(0.2, self.settings.poll_s))  # the shopper waits: ask again
                continue
            self._answered[pid] = time.monotonic()
            receipt_age = None
            if attempt.step is Step.RECEIPT and attempt.receipt is not None:
                receipt = attempt.receipt
                receipt_age = self._waits.age(f"{pid}:receipt", receipt.since, receipt.since_mono)
            if pid in self._cancelled and attempt.step in WAITING and not _paid(answer):
                # the shopper cancelled while the card terminal waited: what central answered
                # is kept (an authorisation to cancel), the wait ends here
                if isinstance(answer, Ok) and isinstance(answer.result, ProviderPayment):
                    self._record(attempt, basket, Transition(attempt.step, answer.result))
                return self._give_up(self._attempt(pid), CANCELLED)
            transition = on_answer(
                attempt,
                facts,
                answer,
                datetime.now(UTC),
                receipt_deadline_s=self.fiscal.receipt_deadline_s,
                receipt_age_s=receipt_age,
            )
            self._record(attempt, basket, transition)
            attempt = self._attempt(pid)
            if attempt.step in FINAL:
                self._forget(pid)
            if transition.result is not None:
                return PaymentOutcome(transition.result, pid, attempt.message, attempt.payment)
        self._forget(pid)
        return PaymentOutcome(final_result(attempt.step), pid, attempt.message, attempt.payment)

    def _give_up(self, attempt: Attempt, why: str) -> PaymentOutcome:
        self._cancelled.discard(attempt.id)
        transition = given_up(attempt, datetime.now(UTC), why)
        self._record(attempt, self.lookup(attempt.basket_id), transition)
        return PaymentOutcome(transition.result or "unknown", attempt.id, why, attempt.payment)

    def _forget(self, pid: str) -> None:
        self._waits.forget(pid)
        self._answered.pop(pid, None)
        self._cancelled.discard(pid)

    def _facts(self, basket: Basket | None) -> BasketFacts:
        if basket is None:
            return BasketFacts()
        stale = tuple(hold for hold in self._holds(basket) if hold != basket.hold_id)
        lines = tuple((line.amount, line.category) for line in basket.lines.values())
        fiscal = basket.lane in self.fiscal.desks
        return BasketFacts(
            live=True,
            paid=basket.state is State.PAID,
            customer=basket.customer,
            hold_id=basket.hold_id,
            lines=lines,
            stale_holds=stale,
            fiscal=fiscal,
        )

    async def _perform(self, action: Action, attempt: Attempt) -> Answer:
        if isinstance(action, AwaitCustomer):
            return Ok(await self._wait_for_customer(attempt, action))
        if isinstance(action, Fiscalize):
            return await self._fiscalize(attempt, action)
        calls = action.calls if isinstance(action, Calls) else (action,)
        answer: ProviderPayment | Refund | Accrued | None = None
        for call in calls:
            try:
                result = await self._call(call.service, call.op, call.data, key=call.key, basket_id=attempt.basket_id)
            except ServiceError as e:
                return Refused(e.code, e.message, _payment_in(e.result))
            answer = payment_answer(call.op, result) if call.service == "payment" else _accrued(call.op, result)
        return Ok(answer)

    async def _fiscalize(self, attempt: Attempt, action: Fiscalize) -> Answer:
        if action.pause_s:
            await asyncio.sleep(action.pause_s)
        basket = self.lookup(attempt.basket_id)
        desk = self.fiscal.desks.get(basket.lane) if basket is not None else None
        if basket is None or desk is None:
            return Refused("no_register", f"basket {attempt.basket_id} has no live lane with a register")
        try:
            egais = (basket.egais.url, basket.egais.sign) if basket.egais is not None else None
            receipt = sell_receipt(
                list(basket.lines.values()), [Tender(attempt.amount)], self.fiscal.rules, basket.contact, egais=egais
            )
            return Ok(await desk.fiscalize(action.uuid, receipt))
        except ReceiptError as e:
            return Refused(e.code, e.message)
        except RegisterError as e:
            return Refused("unavailable" if e.unknown else e.kind, e.message)

    def _record(self, attempt: Attempt, basket: Basket | None, t: Transition) -> None:
        """The transition, its basket command and its alert: one transaction."""
        if t.receipt is not None and t.receipt.since_mono is None:  # the receipt's deadline starts now
            t = replace(t, receipt=replace(t.receipt, since_mono=Mono.now()))
        moved = replace(
            attempt,
            step=t.step,
            payment=t.payment if t.payment is not None else attempt.payment,
            message=t.message or attempt.message,
            receipt=t.receipt if t.receipt is not None else attempt.receipt,
        )
        if moved == attempt and t.journal is None and t.alert is None:
            return  # nothing new (an abandoned payment still pending at the provider)

        def write(conn: sqlite3.Connection) -> None:
            self._save(moved, conn)
            if t.alert is not None and basket is not None:
                self.records.outbox.announce(basket.lane, t.alert[0], t.alert[1], basket_id=basket.id, conn=conn)

        if t.alert is not None:
            self.alerts += 1
            log.error("%s: %s", *t.alert)
        if t.journal is not None and basket is not None:
            self.journal.apply(basket, t.journal, also=write)
        else:  # nothing to journal, or the basket is not live here (closed meanwhile): the step alone
            with self.records.db.transaction() as conn:
                write(conn)
            if basket is not None:
                for listener in self.moved:
                    listener(basket.lane)

    def _save(self, a: Attempt, conn: sqlite3.Connection) -> None:
        if a.step is not Step.CREATING and (created := self._created.get(a.basket_id)) is not None:
            created.set()  # the kiosk's "pay" may answer: the provider has the payment
        self.records.payments.save(a.record(), conn)


def _accrued(op: str, result: object) -> Accrued | None:
    """The points central's accrual gave, when the answer says so in the documented shape."""
    if op != "accrue" or not isinstance(result, dict) or not isinstance(result.get("points"), int):
        return None
    return Accrued(result["points"])


def _paid(answer: Answer) -> bool:
    return (
        isinstance(answer, Ok) and isinstance(answer.result, ProviderPayment) and answer.result.status in PAID_STATUSES
    )


def _payment_in(result: object) -> ProviderPayment | None:
    """The payment a refusal shows, when it shows one of the documented shape."""
    if not isinstance(result, dict) or "id" not in result:
        return None
    try:
        return ProviderPayment.from_json(result)
    except AnswerError:
        return None
