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

from dataclasses import replace
from datetime import datetime

from edge_agent.basket.commands import Close, PaymentResult
from edge_agent.fiscal.document import FiscalDocument
from edge_agent.payment.attempt import (
    CANCELLED,
    FINAL,
    NO_ANSWER,
    NO_RECEIPT,
    OUTCOME_UNKNOWN,
    PAID_STATUSES,
    TOO_SLOW,
    WAITING,
    Accrued,
    Action,
    Answer,
    Attempt,
    AwaitCustomer,
    BasketFacts,
    Call,
    Calls,
    Fiscalize,
    Ok,
    Refused,
    Step,
    Transition,
    final_result,
    reason_code,
    receipt_uuid,
)
from edge_agent.payment.provider import ProviderPayment, Refund
from edge_agent.payment.records import ReceiptRequest

#: the attempt's values live in attempt.py; callers take them from here with the machine
__all__ = [
    "CANCELLED",
    "FINAL",
    "NO_ANSWER",
    "NO_RECEIPT",
    "OUTCOME_UNKNOWN",
    "PAID_STATUSES",
    "TOO_SLOW",
    "WAITING",
    "Accrued",
    "Action",
    "Answer",
    "Attempt",
    "AwaitCustomer",
    "BasketFacts",
    "Call",
    "Calls",
    "Fiscalize",
    "Ok",
    "Refused",
    "Step",
    "Transition",
    "final_result",
    "given_up",
    "next_action",
    "on_answer",
    "reason_code",
    "receipt_uuid",
]


def next_action(a: Attempt, facts: BasketFacts, customer_timeout_s: float) -> Action:
    match a.step:
        case Step.RECEIPT:
            if a.receipt is None:
                raise ValueError(f"payment {a.id}: a receipt step without its request")
            return Fiscalize(a.receipt.uuid, min(5.0, 0.5 * a.receipt.failures))
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
        case Step.ABANDONED if a.payment is None:  # given up before central answered the create:
            # the same create again (same key) tells whether it ran, and gives its payment
            data = {"basket": a.basket_id, "method": a.method, "amount": a.amount}
            return Call("payment", "create", data, f"{a.id}:create")
        case Step.ABANDONED:
            return Call("payment", "get", {"id": a.provider_id})
        case Step.CANCELLING:
            return Call("payment", "cancel", {"id": a.provider_id}, f"{a.id}:cancel")
        case Step.REFUNDING:
            amount = a.payment.amount if a.payment else a.amount
            return Call("payment", "refund", {"payment_id": a.provider_id, "amount": amount}, f"{a.id}:refund")
    raise ValueError(f"payment {a.id}: nothing to do in step {a.step.value}")


def on_answer(
    a: Attempt,
    facts: BasketFacts,
    answer: Answer,
    now: datetime,
    *,
    receipt_deadline_s: float = 60.0,
    receipt_age_s: float | None = None,
) -> Transition:
    """Where ``answer`` takes ``a``. ``now`` is what the journal records; ``receipt_age_s`` how
    long the receipt has been tried, measured by the caller on a clock that does not jump (None:
    from ``now`` and the receipt's recorded wall-clock start)."""
    match a.step, answer:
        case Step.RECEIPT, Ok(FiscalDocument() as fiscal):
            return _printed(a, fiscal, now)
        case Step.RECEIPT, Refused(code, message, _):
            return _not_printed(a, code, message=message, now=now, deadline_s=receipt_deadline_s, age_s=receipt_age_s)
        case Step.CREATING, Ok(ProviderPayment() as payment):
            return Transition(Step.PENDING, payment)
        case Step.CREATING, Refused(_, message, payment):
            return Transition(
                Step.FAILED, payment, message, PaymentResult(approved=False, at=now, message=message), result="declined"
            )
        case Step.PENDING, Ok(ProviderPayment() as payment):
            return _customer_acted(a, payment, now, facts.fiscal)
        case Step.CAPTURING, Ok(ProviderPayment() as payment):
            return Transition(Step.LOYALTY, payment)
        case Step.CAPTURING, Refused(code, message, payment):  # the authorization lapsed: sale recorded, money not
            alert = ("alert.capture_failed", {"payment": a.id, "error": code, "message": message})
            return Transition(Step.FAILED, payment, f"capture failed: {message}", alert=alert)
        case Step.LOYALTY, Ok(result):
            earned = result.points if isinstance(result, Accrued) else None
            return Transition(Step.DONE, journal=Close(points_earned=earned) if facts.paid else None)
        case Step.LOYALTY, Refused(code, message, _):  # the money is captured: the sale stands, points by hand
            alert = (
                "alert.loyalty_failed",
                {"payment": a.id, "basket": a.basket_id, "error": code, "message": message},
            )
            return Transition(Step.DONE, journal=Close() if facts.paid else None, alert=alert)
        case Step.ABANDONED, Ok(ProviderPayment() as payment):
            status = payment.status
            if status == "AUTHORIZED":
                return Transition(Step.CANCELLING, payment)
            if status == "CAPTURED":
                return Transition(Step.REFUNDING, payment)
            if status == "CANCELED":
                return Transition(Step.FAILED, payment)
            return Transition(Step.ABANDONED, payment, result="timeout")  # still pending there: ask again later
        case Step.CANCELLING, Ok(ProviderPayment() as payment):
            if a.message.startswith(NO_RECEIPT):
                return Transition(Step.FAILED, payment, f"{a.message}: the card payment was cancelled")
            return Transition(Step.FAILED, payment, "authorized after the kiosk gave up: cancelled")
        case Step.REFUNDING, Ok(Refund() as refund):
            if a.message.startswith(NO_RECEIPT):
                return Transition(Step.REFUNDED, refund.payment, f"{a.message}: the money was refunded")
            provider = a.payment.id if a.payment else None
            fact = {"payment": a.id, "provider": provider, "refund": refund.id, "amount": refund.amount}
            return Transition(
                Step.REFUNDED,
                refund.payment,
                "paid after the kiosk gave up: refunded",
                alert=("alert.late_payment_refunded", fact),
            )
        case Step.ABANDONED, Refused(_, message, _) if a.payment is None:  # never created: nothing to undo
            return Transition(Step.FAILED, message=f"{a.message}; {message}")
        case ((Step.ABANDONED | Step.CANCELLING | Step.REFUNDING), Refused(code, message, _)):
            alert = (
                "alert.payment_needs_staff",
                {"payment": a.id, "step": a.step.value, "error": code, "message": message},
            )
            return Transition(Step.FAILED, message=f"{a.step.value} refused: {message}", alert=alert)
    raise ValueError(f"payment {a.id}: no transition from {a.step.value} on {answer}")


def given_up(a: Attempt, now: datetime, why: str) -> Transition:
    """The shopper stops waiting (``why``: ``NO_ANSWER``, central's payment service silent past
    the deadline; ``CANCELLED``, they cancelled at the kiosk): the basket may be paid again
    and the attempt is resolved in the background, never dropped (``ABANDONED``: asked again
    until its outcome is known; an authorisation is cancelled, a late payment refunded)."""
    if a.step not in WAITING:
        raise ValueError(f"payment {a.id}: the shopper is not waiting in step {a.step.value}")
    alert = None
    if why == NO_ANSWER:
        alert = ("alert.payment_unanswered", {"payment": a.id, "basket": a.basket_id, "step": a.step.value})
    result = "unknown" if why == NO_ANSWER else "cancelled"
    return Transition(
        Step.ABANDONED,
        message=why,
        journal=PaymentResult(approved=False, at=now, message=why),
        alert=alert,
        result=result,
    )


def _after_money(status: str | None) -> Step:
    return Step.CAPTURING if status == "AUTHORIZED" else Step.LOYALTY


def _printed(a: Attempt, fiscal: FiscalDocument, now: datetime) -> Transition:
    """The receipt is printed: now the sale is final (PAID), then the card is captured."""
    if a.receipt is None:
        raise ValueError(f"payment {a.id}: a receipt printed without its request")
    receipt = replace(a.receipt, fiscal=fiscal)
    tender = {
        "payment_id": a.provider_id,
        "method": a.method,
        "amount": a.amount,
        "receipt": {"uuid": receipt.uuid, **fiscal.to_json()},
    }
    return Transition(
        _after_money(a.status), journal=PaymentResult(approved=True, at=now, tender=tender), receipt=receipt
    )


def _not_printed(
    a: Attempt, code: str, *, message: str, now: datetime, deadline_s: float, age_s: float | None
) -> Transition:
    """Try again until the deadline (the same request if it may have run, else the next one);
    then give the money back: cancel the card's authorisation, refund SBP."""
    receipt = a.receipt or ReceiptRequest(uuid=receipt_uuid(a.id, 1))
    if age_s is None:
        age_s = now.timestamp() - (receipt.since if receipt.since is not None else now.timestamp())
    if age_s < deadline_s:
        receipt = replace(receipt, failures=receipt.failures + 1)
        if code not in OUTCOME_UNKNOWN:  # it failed at the register: nothing printed, a new request
            n = receipt.attempt + 1
            receipt = replace(receipt, attempt=n, uuid=receipt_uuid(a.id, n))
        return Transition(Step.RECEIPT, message=f"receipt: {message}", receipt=receipt)
    why = f"{NO_RECEIPT} ({code}: {message})"
    status = a.status
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


def _customer_acted(a: Attempt, payment: ProviderPayment, now: datetime, fiscal: bool) -> Transition:
    status = payment.status
    if status in PAID_STATUSES:
        if fiscal:  # the receipt first; the sale is final once it is printed
            receipt = ReceiptRequest(uuid=receipt_uuid(a.id, 1), since=now.timestamp())
            return Transition(Step.RECEIPT, payment, receipt=receipt)
        tender = {"payment_id": payment.id, "method": a.method, "amount": a.amount}
        return Transition(_after_money(status), payment, journal=PaymentResult(approved=True, at=now, tender=tender))
    if status == "CANCELED":
        reason = payment.cancel_reason or "declined"
        return Transition(
            Step.FAILED, payment, reason, PaymentResult(approved=False, at=now, message=reason), result="declined"
        )
    return Transition(
        Step.ABANDONED, payment, TOO_SLOW, PaymentResult(approved=False, at=now, message=TOO_SLOW), result="timeout"
    )
