"""A payment attempt as a pure state machine (docs/adr/0013-payment-flow-pure-state-machine.md).

``next_action(attempt, facts)`` says what the current step needs done (a call to central, a
wait for the customer, the loyalty calls of a paid basket); ``on_answer(attempt, facts,
answer, now)`` says where that answer takes the attempt: the next step, the provider's
payment object to keep, the basket command to journal with it, an alert, and whether the
kiosk's wait ends here. No I/O and no clock: the shell (``flow.py``) performs each action and
writes each transition in one transaction, so a crash between two steps resumes from the
last one written, re-sending with the same idempotency keys.

    creating ─create─► pending ─card AUTHORIZED─► capturing ─capture─► loyalty ─► done
                         │      ─SBP CAPTURED─────────────────────────► loyalty
                         ├─declined / expired─► failed         (basket back to READY_TO_PAY)
                         └─customer too slow─► abandoned ─get─► failed (never paid)
                                                        ├─► cancelling ─cancel─► failed (authorized late)
                                                        └─► refunding ─refund─► refunded (+ an alert)

On a lane with a fiscal register (docs/adr/0016-receipt-between-authorisation-and-capture.md)
the money is authorised (card) or taken (SBP), then the receipt is printed, and only then is
the basket PAID and the card captured:

    pending ─AUTHORIZED / CAPTURED─► receipt ─printed─► capturing (card) / loyalty (SBP)
                                       │ ─failed, deadline not passed─► receipt (same uuid if the
                                       │     outcome is unknown, the next uuid if nothing printed)
                                       └─deadline passed─► cancelling (card) / refunding (SBP) + an alert
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from edge_agent.basket.commands import Close, PaymentResult
from edge_agent.payment.records import PaymentRecord


class Step(StrEnum):
    CREATING = "creating"
    PENDING = "pending"
    RECEIPT = "receipt"
    CAPTURING = "capturing"
    LOYALTY = "loyalty"
    ABANDONED = "abandoned"
    CANCELLING = "cancelling"
    REFUNDING = "refunding"
    DONE = "done"
    FAILED = "failed"
    REFUNDED = "refunded"


FINAL: Final = frozenset({Step.DONE, Step.FAILED, Step.REFUNDED})
PAID_STATUSES: Final = frozenset({"AUTHORIZED", "CAPTURED"})
TOO_SLOW: Final = "the customer did not pay in time"
NO_RECEIPT: Final = "the receipt could not be printed"
#: register answers after which the request may or may not have run: ask for the same uuid again
OUTCOME_UNKNOWN: Final = frozenset({"unavailable", "bad_answer", "unknown_uuid"})
_RECEIPTS: Final = uuidlib.UUID("6f1d2b40-9c1e-4d7a-8f55-2f0e8a1c5b01")


def receipt_uuid(attempt_id: str, n: int) -> str:
    """The uuid of the ``n``-th receipt request of an attempt: the same after any restart."""
    return str(uuidlib.uuid5(_RECEIPTS, f"{attempt_id}:receipt:{n}"))


@dataclass(frozen=True, slots=True, kw_only=True)
class Attempt:
    """One payment attempt as the ``payments`` table holds it."""

    id: str
    basket_id: str
    method: str
    amount: int
    step: Step
    started: float = 0.0
    payment: Mapping[str, Any] | None = None  # the provider's payment object, as last seen
    message: str = ""
    #: the receipt request: uuid, try (n-th uuid), failures, since (epoch s), fiscal (once printed)
    receipt: Mapping[str, Any] | None = None

    @classmethod
    def from_row(cls, row: PaymentRecord) -> Attempt:
        detail = row.detail
        return cls(
            id=row.id,
            basket_id=row.basket_id,
            method=row.method,
            amount=row.amount,
            step=Step(row.step),
            started=detail.get("started", 0.0),
            payment=detail.get("payment"),
            message=detail.get("message", ""),
            receipt=detail.get("receipt"),
        )

    @property
    def provider_id(self) -> str:
        return str((self.payment or {})["id"])

    def detail(self) -> dict[str, Any]:
        out: dict[str, Any] = {"started": self.started}
        if self.payment is not None:
            out["payment"] = dict(self.payment)
        if self.message:
            out["message"] = self.message
        if self.receipt is not None:
            out["receipt"] = dict(self.receipt)
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class BasketFacts:
    """What the steps need to know of the basket (None of it when the basket is not live here)."""

    live: bool = False
    paid: bool = False
    customer: str | None = None
    hold_id: str | None = None
    lines: tuple[tuple[int, str], ...] = ()  # (amount after discount, category)
    stale_holds: tuple[str, ...] = ()  # holds taken for this basket that its lines no longer carry
    fiscal: bool = False  # the lane has a fiscal register: a receipt before the sale is final


# -- what a step needs done -------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Call:
    service: str
    op: str
    data: dict[str, Any]
    key: str | None = None  # idempotency key (None: a read, safe to repeat)


@dataclass(frozen=True, slots=True)
class Calls:
    """Several calls in order; the answer is the last one's (the first refusal stops them)."""

    calls: tuple[Call, ...]


@dataclass(frozen=True, slots=True)
class AwaitCustomer:
    """Wait until the customer has acted on ``provider_id`` or ``deadline`` (epoch s) passed."""

    provider_id: str
    deadline: float


@dataclass(frozen=True, slots=True)
class Fiscalize:
    """Print the basket's receipt as request ``uuid`` (at most once), after ``pause_s``."""

    uuid: str
    pause_s: float = 0.0


Action = Call | Calls | AwaitCustomer | Fiscalize


# -- what came back ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Ok:
    result: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Refused:
    code: str
    message: str
    result: Mapping[str, Any] | None = None


Answer = Ok | Refused


@dataclass(frozen=True, slots=True)
class Transition:
    step: Step
    payment: Mapping[str, Any] | None = None  # None: keep the one known
    message: str = ""
    journal: PaymentResult | Close | None = None  # the basket command written with the step
    alert: tuple[str, dict[str, Any]] | None = None
    receipt: Mapping[str, Any] | None = None  # None: keep the one known
    #: the kiosk's outcome when its wait ends here (paid, declined, timeout); None: go on
    result: str | None = None


def next_action(a: Attempt, facts: BasketFacts, customer_timeout_s: float) -> Action:
    pay = a.payment or {}
    match a.step:
        case Step.RECEIPT:
            receipt = a.receipt or {}
            return Fiscalize(receipt["uuid"], min(5.0, 0.5 * receipt.get("failures", 0)))
        case Step.CREATING:
            data = {"basket": a.basket_id, "method": a.method, "amount": a.amount}
            return Call("payment", "create", data, f"{a.id}:create")
        case Step.PENDING:
            return AwaitCustomer(a.provider_id, a.started + customer_timeout_s)
        case Step.CAPTURING:
            return Call("payment", "capture", {"id": a.provider_id}, f"{a.id}:capture")
        case Step.LOYALTY:
            calls = [Call("loyalty", "release", {"hold_id": h}, f"{h}:release") for h in facts.stale_holds]
            if facts.hold_id is not None:
                calls.append(
                    Call(
                        "loyalty", "commit", {"hold_id": facts.hold_id, "transaction_id": a.basket_id}, f"{a.id}:commit"
                    )
                )
            if facts.customer is not None:
                lines = [{"price": amount, "category": category} for amount, category in facts.lines]
                calls.append(
                    Call(
                        "loyalty",
                        "accrue",
                        {
                            "customer": facts.customer,
                            "transaction_id": a.basket_id,
                            "lines": lines,
                            "redeemed": facts.hold_id is not None,
                        },
                        f"{a.id}:accrue",
                    )
                )
            return Calls(tuple(calls))
        case Step.ABANDONED:
            return Call("payment", "get", {"id": a.provider_id})
        case Step.CANCELLING:
            return Call("payment", "cancel", {"id": a.provider_id}, f"{a.id}:cancel")
        case Step.REFUNDING:
            return Call("payment", "refund", {"payment_id": a.provider_id, "amount": pay["amount"]}, f"{a.id}:refund")
    raise ValueError(f"payment {a.id}: nothing to do in step {a.step.value}")


def on_answer(
    a: Attempt, facts: BasketFacts, answer: Answer, now: datetime, *, receipt_deadline_s: float = 60.0
) -> Transition:
    match a.step, answer:
        case Step.RECEIPT, Ok(fiscal):
            return _printed(a, fiscal, now)
        case Step.RECEIPT, Refused(code, message, _):
            return _not_printed(a, code, message=message, now=now, deadline_s=receipt_deadline_s)
        case Step.CREATING, Ok(payment):
            return Transition(Step.PENDING, payment)
        case Step.CREATING, Refused(_, message, result):
            return Transition(
                Step.FAILED, result, message, PaymentResult(approved=False, at=now, message=message), result="declined"
            )
        case Step.PENDING, Ok(payment):
            return _customer_acted(a, payment, now, facts.fiscal)
        case Step.CAPTURING, Ok(payment):
            return Transition(Step.LOYALTY, payment)
        case Step.CAPTURING, Refused(code, message, result):  # the authorization lapsed: sale recorded, money not
            alert = ("alert.capture_failed", {"payment": a.id, "error": code, "message": message})
            return Transition(Step.FAILED, result, f"capture failed: {message}", alert=alert)
        case Step.LOYALTY, Ok():
            return Transition(Step.DONE, journal=Close() if facts.paid else None)
        case Step.LOYALTY, Refused(code, message, _):  # the money is captured: the sale stands, points by hand
            alert = (
                "alert.loyalty_failed",
                {"payment": a.id, "basket": a.basket_id, "error": code, "message": message},
            )
            return Transition(Step.DONE, journal=Close() if facts.paid else None, alert=alert)
        case Step.ABANDONED, Ok(payment):
            status = payment.get("status")
            if status == "AUTHORIZED":
                return Transition(Step.CANCELLING, payment)
            if status == "CAPTURED":
                return Transition(Step.REFUNDING, payment)
            if status == "CANCELED":
                return Transition(Step.FAILED, payment)
            return Transition(Step.ABANDONED, payment, result="timeout")  # still pending there: ask again later
        case Step.CANCELLING, Ok(payment):
            if a.message.startswith(NO_RECEIPT):
                return Transition(Step.FAILED, payment, f"{a.message}: the card payment was cancelled")
            return Transition(Step.FAILED, payment, "authorized after the kiosk gave up: cancelled")
        case Step.REFUNDING, Ok(refund):
            if a.message.startswith(NO_RECEIPT):
                return Transition(Step.REFUNDED, refund["payment"], f"{a.message}: the money was refunded")
            pay = a.payment or {}
            fact = {"payment": a.id, "provider": pay.get("id"), "refund": refund["id"], "amount": refund["amount"]}
            return Transition(
                Step.REFUNDED,
                refund["payment"],
                "paid after the kiosk gave up: refunded",
                alert=("alert.late_payment_refunded", fact),
            )
        case ((Step.ABANDONED | Step.CANCELLING | Step.REFUNDING), Refused(code, message, _)):
            alert = (
                "alert.payment_needs_staff",
                {"payment": a.id, "step": a.step.value, "error": code, "message": message},
            )
            return Transition(Step.FAILED, message=f"{a.step.value} refused: {message}", alert=alert)
    raise ValueError(f"payment {a.id}: no transition from {a.step.value} on {type(answer).__name__}")


def _after_money(status: Any) -> Step:
    return Step.CAPTURING if status == "AUTHORIZED" else Step.LOYALTY


def _printed(a: Attempt, fiscal: Mapping[str, Any], now: datetime) -> Transition:
    """The receipt is printed: now the sale is final (PAID), then the card is captured."""
    pay = a.payment or {}
    receipt = {**(a.receipt or {}), "fiscal": dict(fiscal)}
    tender = {
        "payment_id": pay["id"],
        "method": a.method,
        "amount": a.amount,
        "receipt": {"uuid": receipt["uuid"], **dict(fiscal)},
    }
    return Transition(
        _after_money(pay.get("status")), journal=PaymentResult(approved=True, at=now, tender=tender), receipt=receipt
    )


def _not_printed(a: Attempt, code: str, *, message: str, now: datetime, deadline_s: float) -> Transition:
    """Try again until the deadline (the same request if it may have run, else the next one);
    then give the money back: cancel the card's authorisation, refund SBP."""
    receipt = dict(a.receipt or {})
    if now.timestamp() - receipt.get("since", now.timestamp()) < deadline_s:
        receipt["failures"] = receipt.get("failures", 0) + 1
        if code not in OUTCOME_UNKNOWN:  # it failed at the register: nothing printed, a new request
            receipt["try"] = receipt.get("try", 1) + 1
            receipt["uuid"] = receipt_uuid(a.id, receipt["try"])
        return Transition(Step.RECEIPT, message=f"receipt: {message}", receipt=receipt)
    why = f"{NO_RECEIPT} ({code}: {message})"
    status = (a.payment or {}).get("status")
    alert = (
        "alert.receipt_failed",
        {
            "payment": a.id,
            "basket": a.basket_id,
            "error": code,
            "message": message,
            "money": "cancel" if status == "AUTHORIZED" else "refund",
        },
    )
    nxt = Step.CANCELLING if status == "AUTHORIZED" else Step.REFUNDING
    return Transition(nxt, message=why, journal=PaymentResult(approved=False, at=now, message=why), alert=alert)


def _customer_acted(a: Attempt, payment: Mapping[str, Any], now: datetime, fiscal: bool) -> Transition:
    status = payment.get("status")
    if status in PAID_STATUSES:
        if fiscal:  # the receipt first; the sale is final once it is printed
            receipt = {"uuid": receipt_uuid(a.id, 1), "try": 1, "failures": 0, "since": now.timestamp()}
            return Transition(Step.RECEIPT, payment, receipt=receipt)
        tender = {"payment_id": payment["id"], "method": a.method, "amount": a.amount}
        return Transition(_after_money(status), payment, journal=PaymentResult(approved=True, at=now, tender=tender))
    if status == "CANCELED":
        reason = str((payment.get("cancellation_details") or {}).get("reason", "declined"))
        return Transition(
            Step.FAILED, payment, reason, PaymentResult(approved=False, at=now, message=reason), result="declined"
        )
    return Transition(
        Step.ABANDONED, payment, TOO_SLOW, PaymentResult(approved=False, at=now, message=TOO_SLOW), result="timeout"
    )


def final_result(step: Step) -> str:
    """The kiosk's word for an attempt that ended: paid, declined or refunded."""
    return {Step.DONE: "paid", Step.FAILED: "declined"}.get(step, step.value)
