"""The payment attempt as plain data: each step's action and where each answer leads."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from edge_agent.basket.commands import Close, PaymentResult
from edge_agent.clock import Mono
from edge_agent.payment.provider import ProviderPayment, Refund
from edge_agent.payment.records import PaymentRecord, ReceiptRequest
from edge_agent.payment.steps import (
    FINAL,
    Attempt,
    AwaitCustomer,
    BasketFacts,
    Call,
    Calls,
    Ok,
    Refused,
    Step,
    final_result,
    next_action,
    on_answer,
)

NOW = datetime(2026, 12, 1, 10, tzinfo=UTC)
CARD = Attempt(id="b1:pay:1", basket_id="b1", method="card", amount=9_000, step=Step.CREATING, started=1_000.0)
PAID_BASKET = BasketFacts(
    live=True,
    paid=True,
    customer="C-1",
    hold_id="H-1",
    lines=((8_000, "dairy"), (1_000, "tobacco")),
    stale_holds=("H-0",),
)


def pp(status: str) -> ProviderPayment:
    """The provider's payment P-1 of 90 RUB in ``status``."""
    return ProviderPayment(id="P-1", status=status, amount=9_000)


def at(step: Step, status: str | None = None) -> Attempt:
    return Attempt(
        id=CARD.id,
        basket_id="b1",
        method="card",
        amount=9_000,
        step=step,
        started=1_000.0,
        payment=pp(status) if status else None,
    )


def test_creating_asks_for_the_payment_with_a_key_of_the_attempt_and_goes_pending() -> None:
    action = next_action(CARD, BasketFacts(), 90)
    assert action == Call("payment", "create", {"basket": "b1", "method": "card", "amount": 9_000}, "b1:pay:1:create")
    t = on_answer(CARD, BasketFacts(), Ok(pp("PENDING_CUSTOMER")), NOW)
    assert t.step is Step.PENDING and t.payment == pp("PENDING_CUSTOMER") and t.result is None


def test_a_refused_create_fails_the_attempt_and_puts_the_basket_back_to_ready_to_pay() -> None:
    t = on_answer(CARD, BasketFacts(), Refused("limit", "over the limit"), NOW)
    assert t.step is Step.FAILED and t.result == "declined"
    assert t.journal == PaymentResult(approved=False, at=NOW, message="over the limit")


def test_pending_waits_for_the_customer_until_the_kiosk_patience_ends() -> None:
    assert next_action(at(Step.PENDING, "PENDING_CUSTOMER"), BasketFacts(), 90) == AwaitCustomer("P-1", 1_090.0)


def test_an_authorized_card_makes_the_basket_paid_then_captures() -> None:
    t = on_answer(at(Step.PENDING, "PENDING_CUSTOMER"), BasketFacts(), Ok(pp("AUTHORIZED")), NOW)
    tender = {"payment_id": "P-1", "method": "card", "amount": 9_000}
    assert (
        t.step is Step.CAPTURING
        and t.journal == PaymentResult(approved=True, at=NOW, tender=tender)
        and t.result is None
    )
    assert next_action(at(Step.CAPTURING, "AUTHORIZED"), BasketFacts(), 90) == Call(
        "payment", "capture", {"id": "P-1"}, "b1:pay:1:capture"
    )


def test_sbp_is_one_stage_straight_to_loyalty() -> None:
    t = on_answer(at(Step.PENDING, "PENDING_CUSTOMER"), BasketFacts(), Ok(pp("CAPTURED")), NOW)
    assert t.step is Step.LOYALTY


@pytest.mark.parametrize(
    ("status", "step", "result"),
    [("CANCELED", Step.FAILED, "declined"), ("PENDING_CUSTOMER", Step.ABANDONED, "timeout")],
)
def test_a_declined_or_too_slow_customer_ends_the_kiosk_wait(status: str, step: Step, result: str) -> None:
    t = on_answer(at(Step.PENDING, "PENDING_CUSTOMER"), BasketFacts(), Ok(pp(status)), NOW)
    assert t.step is step and t.result == result
    assert isinstance(t.journal, PaymentResult) and not t.journal.approved


def test_loyalty_releases_stale_holds_commits_and_accrues_keyed_by_the_attempt_then_closes() -> None:
    action = next_action(at(Step.LOYALTY, "CAPTURED"), PAID_BASKET, 90)
    assert isinstance(action, Calls)
    assert [(c.op, c.key) for c in action.calls] == [
        ("release", "H-0:release"),
        ("commit", "b1:pay:1:commit"),
        ("accrue", "b1:pay:1:accrue"),
    ]
    assert action.calls[2].data["lines"] == [
        {"price": 8_000, "category": "dairy"},
        {"price": 1_000, "category": "tobacco"},
    ]
    t = on_answer(at(Step.LOYALTY, "CAPTURED"), PAID_BASKET, Ok(), NOW)
    assert t.step is Step.DONE and t.journal == Close() and final_result(t.step) == "paid"


def test_a_loyalty_refusal_after_the_money_is_captured_keeps_the_sale_and_alerts() -> None:
    t = on_answer(at(Step.LOYALTY, "CAPTURED"), PAID_BASKET, Refused("hold_expired", "hold expired"), NOW)
    assert t.step is Step.DONE and t.journal == Close()
    assert t.alert is not None and t.alert[0] == "alert.loyalty_failed"


def test_a_failed_capture_is_an_alert_not_a_second_payment() -> None:
    t = on_answer(at(Step.CAPTURING, "AUTHORIZED"), BasketFacts(), Refused("expired", "authorization lapsed"), NOW)
    assert t.step is Step.FAILED and t.alert is not None and t.alert[0] == "alert.capture_failed"
    assert t.journal is None  # the sale stays recorded


ABANDONED_OUTCOMES = [
    ("AUTHORIZED", Step.CANCELLING),
    ("CAPTURED", Step.REFUNDING),
    ("CANCELED", Step.FAILED),
    ("PENDING_CUSTOMER", Step.ABANDONED),
]


@pytest.mark.parametrize(("status", "step"), ABANDONED_OUTCOMES)
def test_an_abandoned_attempt_is_settled_by_what_the_provider_says(status: str, step: Step) -> None:
    assert next_action(at(Step.ABANDONED, "PENDING_CUSTOMER"), BasketFacts(), 90) == Call(
        "payment", "get", {"id": "P-1"}
    )
    t = on_answer(at(Step.ABANDONED, "PENDING_CUSTOMER"), BasketFacts(), Ok(pp(status)), NOW)
    assert t.step is step
    assert (t.result == "timeout") is (step is Step.ABANDONED)  # still pending: try again later


def test_a_late_success_is_refunded_in_full_with_an_alert() -> None:
    refunding = at(Step.REFUNDING, "CAPTURED")
    assert next_action(refunding, BasketFacts(), 90) == Call(
        "payment", "refund", {"payment_id": "P-1", "amount": 9_000}, "b1:pay:1:refund"
    )
    refund = Refund(id="R-1", amount=9_000, payment=pp("CAPTURED"))
    t = on_answer(refunding, BasketFacts(), Ok(refund), NOW)
    assert t.step is Step.REFUNDED and t.step in FINAL and t.payment == refund.payment
    assert t.alert == (
        "alert.late_payment_refunded",
        {"payment": CARD.id, "provider": "P-1", "refund": "R-1", "amount": 9_000},
    )


def test_an_attempt_round_trips_through_its_row() -> None:
    a = replace(
        at(Step.CAPTURING, "AUTHORIZED"),
        receipt=ReceiptRequest(uuid="u-2", attempt=2, failures=1, since=1_001.0, since_mono=Mono(51.0, "boot-1")),
        started_mono=Mono(50.0, "boot-1"),
        message="receipt: no paper",
    )
    row = a.record()
    stored = json.loads(json.dumps(row.detail()))  # as the payments table keeps it
    assert Attempt.from_row(PaymentRecord.from_row((a.id, a.basket_id, a.method, a.amount, a.step.value), stored)) == a


def test_a_row_written_by_an_earlier_version_reads_back() -> None:
    """The detail as versions before typed records wrote it: the provider's whole payment
    object, the receipt request with the register's fiscal data."""
    detail = {
        "started": 1_000.0,
        "payment": {
            "id": "P-1",
            "basket": "b1",
            "status": "AUTHORIZED",
            "provider_status": "waiting_for_capture",
            "paid": True,
            "amount": 9_000,
            "confirmation": {"type": "qr", "confirmation_data": "https://qr.nspk.ru/AD1"},
        },
        "receipt": {
            "uuid": "u-1",
            "try": 1,
            "failures": 0,
            "since": 1_000.5,
            "fiscal": {
                "fiscalDocumentNumber": 7,
                "fiscalDocumentSign": "123456",
                "fiscalDocumentDateTime": "2026-12-01T10:15:00+03:00",
                "shiftNumber": 3,
                "fnNumber": "9999078900012345",
                "fiscalReceiptNumber": 2,
            },
        },
    }
    row = PaymentRecord.from_row(("b1:pay:1", "b1", "sbp", 9_000, "capturing"), detail)
    assert row.payment is not None and row.payment.qr == "https://qr.nspk.ru/AD1" and row.status == "AUTHORIZED"
    assert row.receipt is not None and row.receipt.fiscal is not None and row.receipt.fiscal.number == 7
    assert row.receipt.fiscal.qr(9_000) == "t=20261201T1015&s=90.00&fn=9999078900012345&i=7&fp=123456&n=1"


def test_a_shopper_freed_from_a_silent_service_leaves_the_attempt_to_be_resolved() -> None:
    from edge_agent.payment.steps import NO_ANSWER, given_up

    t = given_up(at(Step.PENDING, "PENDING_CUSTOMER"), NOW, NO_ANSWER)
    assert t.step is Step.ABANDONED and t.result == "unknown" and t.alert is not None
    assert t.alert[0] == "alert.payment_unanswered"
    assert isinstance(t.journal, PaymentResult) and not t.journal.approved  # the basket may be paid again
    with pytest.raises(ValueError):
        given_up(at(Step.CAPTURING, "AUTHORIZED"), NOW, NO_ANSWER)  # the money moved: not the shopper's wait


def test_an_attempt_given_up_before_central_answered_asks_the_same_create_again() -> None:
    abandoned = at(Step.ABANDONED)
    action = next_action(abandoned, BasketFacts(), 90)
    assert action == Call("payment", "create", {"basket": "b1", "method": "card", "amount": 9_000}, f"{CARD.id}:create")
    assert on_answer(abandoned, BasketFacts(), Ok(pp("AUTHORIZED")), NOW).step is Step.CANCELLING  # it ran: undone
    never = on_answer(abandoned, BasketFacts(), Refused("invalid_amount", "no"), NOW)
    assert never.step is Step.FAILED and never.alert is None  # it never ran: nothing to undo, nobody to call


def test_why_a_payment_did_not_pay_is_a_code_the_kiosk_translates() -> None:
    from edge_agent.payment.steps import CANCELLED, NO_ANSWER, NO_RECEIPT, TOO_SLOW, reason_code

    said = {
        TOO_SLOW: "timeout",
        NO_ANSWER: "no_answer",
        CANCELLED: "cancelled",
        f"{NO_RECEIPT} (paper_out: no paper)": "no_receipt",
        "insufficient_funds": "insufficient_funds",
        "capture failed: lapsed": "declined",
        "Карта отклонена": "declined",
        "": None,
    }
    assert {m: reason_code(m) for m in said} == said


def test_the_points_a_sale_earned_close_it() -> None:
    from edge_agent.payment.attempt import Accrued

    t = on_answer(at(Step.LOYALTY, "CAPTURED"), PAID_BASKET, Ok(Accrued(37)), NOW)
    assert t.step is Step.DONE and t.journal == Close(points_earned=37)
    assert Close.from_args({}) == Close() and Close(points_earned=37).args() == {"points_earned": 37}  # old journals
