"""The manager's figures from baskets' journals, as the store keeps them: revenue per lane, the
time a purchase takes, the bank's declines (not the shopper's cancels), shrink (blocked and
voided, each line once), gate alarms; and charts titled in the reader's language."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from edge_agent.basket import Product
from edge_agent.basket.commands import (
    Add,
    Cancel,
    Checkout,
    Close,
    Command,
    PaymentResult,
    Remove,
    StartPayment,
    Verdict,
)
from edge_agent.dashboard import charts, figures
from edge_agent.dashboard.figures import BasketRecord
from edge_agent.payment.attempt import CANCELLED

MSK = ZoneInfo("Europe/Moscow")
AT = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
BREAD = Product("04600000000017", "Bread", 5_500, 10, "bakery")
MILK = Product("04610053149777", "Milk", 8_990, 10, "dairy", "milk", marked=True)


def record(
    basket_id: str, lane: str, state: str, commands: list[Command], opened: float, step_s: float
) -> BasketRecord:
    rows = [(c.op, json.dumps(c.args()), opened + i * step_s) for i, c in enumerate(commands)]
    return BasketRecord(basket_id, lane, state, opened, rows)


def test_revenue_time_declines_shrink_and_alarms_per_lane() -> None:
    t0 = AT.timestamp()
    paid_after_decline = [
        Add(product=BREAD, gtin=BREAD.gtin, at=AT),
        Checkout(),
        StartPayment(payment_id="a:pay:1"),
        PaymentResult(approved=False, at=AT, message="insufficient_funds"),  # the bank's no
        StartPayment(payment_id="a:pay:2"),
        PaymentResult(approved=False, at=AT, message=CANCELLED),  # the shopper's cancel: not a decline
        StartPayment(payment_id="a:pay:3"),
        PaymentResult(approved=True, at=AT),
        Close(),
    ]
    blocked_then_voided = [
        Add(product=MILK, gtin=MILK.gtin, at=AT, ki="01046100531497772155", mark_code="x"),
        Verdict(line_id=1, outcome="BLOCKED", reason="blocked"),
        Remove(line_id=1, by="s-1", device="hh-1", at=AT),  # staff void the blocked bottle: counted once
        Add(product=BREAD, gtin=BREAD.gtin, at=AT),
        Remove(line_id=3, by="s-1", device="hh-1", at=AT),  # and a loaf: voided
        Add(product=BREAD, gtin=BREAD.gtin, at=AT),
        Remove(line_id=4, by="customer", device="lane-2", at=AT),  # taken out by the shopper: not shrink
        Cancel(),
    ]
    f = figures(
        [
            record("a", "lane-1", "CLOSED", paid_after_decline, t0, 10.0),
            record("b", "lane-2", "CANCELLED", blocked_then_voided, t0 + 5, 1.0),
        ],
        [("BLOCKED", "ts_piot")],
        MSK,
        gate_alarms=[("exit", "UNPAID"), ("exit", "UNPAID"), ("exit", "CLONED_TAG")],
    )
    assert f["revenue_kop"] == 5_500 and f["per_lane"]["lane-1"]["revenue_kop"] == 5_500  # type: ignore[index]
    assert f["per_lane"]["lane-2"] == {  # type: ignore[index]
        "baskets": 1,
        "paid": 0,
        "cancelled": 1,
        "revenue_kop": 0,
        "declines": 0,
        "basket_time_s": {"p50": None, "p90": None},
    }
    assert f["basket_time_s"] == {"p50": 80.0, "p90": 80.0, "n": 1}  # first item to closing row
    assert f["payments"] == {"attempts": 3, "declines": 1, "decline_rate": 0.333}
    assert f["shrink"] == {"blocked": 1, "blocked_kop": 8_990, "voided": 1, "voided_kop": 5_500, "total_kop": 14_490}
    assert f["gate_alarms"] == {"total": 3, "by_reason": {"UNPAID": 2, "CLONED_TAG": 1}}
    words = {"titles": {"verdicts": "Проверки маркировки"}, "labels": {"BLOCKED": "запрещено"}}
    drawn = charts(f, words=words)
    assert "Проверки маркировки" in drawn["verdicts"] and "запрещено" in drawn["verdicts"]
    assert "lane-1" in drawn["revenue_per_lane"] and "55" in drawn["revenue_per_lane"]
    assert 'width="360"' in drawn["interventions"]  # the handheld's width: its text is not shrunk
