"""The basket state machine: lines, problems and the way to payment."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_agent.basket import AlcoholHours, Basket, BasketError, Product, Rules, State
from tests.conftest import examples

MSK = ZoneInfo("Europe/Moscow")
NOON = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 12:00 in Moscow
NIGHT = datetime(2026, 11, 23, 21, 30, tzinfo=UTC)  # 00:30 in Moscow
MILK = Product("04610053149777", "Milk 1 l", 8_990, 10, "dairy", "milk", marked=True)
BREAD = Product("04600000000017", "Bread", 5_500, 10, "bakery", qty_limit=2)
VODKA = Product("04600000000024", "Vodka 0.5 l", 49_900, 20, "alcohol", "alcohol", min_age=18, alcohol=True)
KI = "0104610053149777215d/wuU"


def basket() -> Basket:
    return Basket("b-1", "lane-1", Rules(MSK))


def test_a_serialized_item_is_one_line_however_often_it_arrives() -> None:
    b = basket()
    assert b.add(MILK, MILK.gtin, NOON, ki=KI) is not None
    assert b.add(MILK, MILK.gtin, NOON, ki=KI) is None
    assert len(b.lines) == 1 and b.total == 8_990 and b.state is State.SCANNING


def test_happy_path_to_closed() -> None:
    b = basket()
    line = b.add(MILK, MILK.gtin, NOON, ki=KI)
    assert line is not None
    with pytest.raises(BasketError, match="unverified"):
        b.checkout()  # a marked line needs its verdict first
    b.verdict(line.id, "ALLOWED", fiscal_1265="UUID=x&Time=1")
    b.add(BREAD, BREAD.gtin, NOON)
    b.checkout()
    b.start_payment("pay-1")
    b.payment_result(True, NOON)
    b.close()
    assert b.state is State.CLOSED and b.total == 8_990 + 5_500


def test_age_check_needs_staff_and_blocks_payment_until_approved() -> None:
    b = basket()
    b.add(VODKA, VODKA.gtin, NOON)
    assert b.state is State.NEEDS_ASSISTANCE
    with pytest.raises(BasketError, match="open_problems"):
        b.checkout()
    (problem,) = b.open_problems()
    assert (problem.code, problem.level) == ("AGE_RESTRICTED", "MEDIUM")
    b.resolve(problem.id, "staff-17", "handheld-3", NOON)
    assert b.state is State.SCANNING
    assert b.problems[problem.id].resolution is not None and b.problems[problem.id].resolution.by == "staff-17"
    b.checkout()
    assert b.state is State.READY_TO_PAY


def test_alcohol_at_night_is_a_critical_problem_that_only_removal_clears() -> None:
    b = basket()
    line = b.add(VODKA, VODKA.gtin, NIGHT)
    assert line is not None
    codes = {p.code: p for p in b.open_problems()}
    assert set(codes) == {"ALCOHOL_HOURS", "AGE_RESTRICTED"}
    with pytest.raises(BasketError, match="critical"):
        b.resolve(codes["ALCOHOL_HOURS"].id, "staff-17", "handheld-3", NIGHT)
    b.remove(line.id, "staff-17", "handheld-3", NIGHT)
    assert b.open_problems() == [] and b.state is State.SCANNING


def test_regional_alcohol_hours() -> None:
    spb = Basket(
        "b", "l", Rules(MSK, AlcoholHours(start=datetime(2026, 1, 1, 22).time(), end=datetime(2026, 1, 1, 11).time()))
    )
    spb.add(VODKA, VODKA.gtin, datetime(2026, 11, 23, 7, 30, tzinfo=UTC))  # 10:30 local: still closed
    assert "ALCOHOL_HOURS" in {p.code for p in spb.open_problems()}


def test_marking_verdicts_become_critical_problems() -> None:
    b = basket()
    line = b.add(MILK, MILK.gtin, NOON, ki=KI)
    assert line is not None
    b.verdict(line.id, "BLOCKED", "sale blocked by RPN")
    (problem,) = b.open_problems()
    assert (problem.code, problem.level, problem.message) == ("MARKING_BLOCKED", "CRITICAL", "sale blocked by RPN")
    other = b.add(MILK, MILK.gtin, NOON, ki=KI + "x")
    assert other is not None
    b.verdict(other.id, "UNAVAILABLE")
    assert {p.code for p in b.open_problems()} == {"MARKING_BLOCKED", "MARKING_CHECK_UNAVAILABLE"}


def test_unknown_item_already_sold_and_quantity_limit() -> None:
    b = basket()
    b.add(None, "04699999999993", NOON)
    b.add(MILK, MILK.gtin, NOON, ki=KI, sold_here=True)
    for _ in range(3):
        b.add(BREAD, BREAD.gtin, NOON)
    assert sorted(p.code for p in b.open_problems()) == ["ALREADY_SOLD", "QTY_LIMIT", "UNKNOWN_ITEM"]


def test_declined_payment_returns_to_ready_to_pay_with_the_record() -> None:
    b = basket()
    b.add(BREAD, BREAD.gtin, NOON)
    b.checkout()
    b.start_payment("pay-1")
    b.payment_result(False, NOON, "insufficient funds")
    assert b.state is State.READY_TO_PAY and b.open_problems() == []
    assert [p.code for p in b.problems.values()] == ["PAYMENT_DECLINED"]
    b.start_payment("pay-2")
    assert b.payment_id == "pay-2"


def test_an_item_added_after_checkout_goes_back_to_scanning() -> None:
    b = basket()
    b.add(BREAD, BREAD.gtin, NOON)
    b.checkout()
    b.add(BREAD, BREAD.gtin, NOON)
    assert b.state is State.SCANNING


def test_no_cancel_once_payment_started() -> None:
    b = basket()
    b.add(BREAD, BREAD.gtin, NOON)
    b.checkout()
    b.start_payment("pay-1")
    with pytest.raises(BasketError, match="wrong_state"):
        b.cancel()


ops = st.lists(
    st.one_of(
        st.tuples(
            st.just("add"),
            st.sampled_from(["milk", "bread", "vodka", "unknown"]),
            st.integers(0, 3),
            st.booleans(),
            st.booleans(),
        ),
        st.tuples(st.just("verdict"), st.integers(0, 20), st.sampled_from(["ALLOWED", "BLOCKED", "UNAVAILABLE"])),
        st.tuples(st.just("remove"), st.integers(0, 20)),
        st.tuples(st.just("resolve"), st.integers(0, 30)),
        st.tuples(st.just("checkout")),
        st.tuples(st.just("pay")),
        st.tuples(st.just("result"), st.booleans()),
        st.tuples(st.just("cancel")),
    ),
    max_size=40,
)


@settings(max_examples=examples(3_000))
@given(ops, st.booleans())
def test_never_paid_with_an_open_problem_or_an_unverified_mark(sequence: list[tuple[object, ...]], clean: bool) -> None:
    products = {"milk": MILK, "bread": BREAD, "vodka": VODKA, "unknown": None}
    b = basket()
    # every run ends by trying to pay, so that the paths to PAID are walked, not just begun
    finish: list[tuple[object, ...]] = [("checkout",), ("pay",), ("result", True)]
    if clean:  # half the runs: every line gets an ALLOWED verdict before the attempt
        finish = [("verdict", i, "ALLOWED") for i in range(40)] + finish
    for op in [*sequence, *finish]:
        try:
            match op:
                case ("add", name, serial, night, sold):
                    product = products[str(name)]
                    gtin = product.gtin if product else "04699999999993"
                    ki = f"01{gtin}21S{serial}" if name == "milk" else None
                    b.add(product, gtin, NIGHT if night else NOON, ki=ki, sold_here=bool(sold))
                case ("verdict", line_id, outcome):
                    b.verdict(int(line_id), str(outcome))  # type: ignore[call-overload]
                case ("remove", line_id):
                    b.remove(int(line_id), "staff", "hh", NOON)  # type: ignore[call-overload]
                case ("resolve", problem_id):
                    b.resolve(int(problem_id), "staff", "hh", NOON)  # type: ignore[call-overload]
                case ("checkout",):
                    b.checkout()
                case ("pay",):
                    b.start_payment("p")
                case ("result", approved):
                    b.payment_result(bool(approved), NOON)
                case ("cancel",):
                    b.cancel()
        except BasketError:
            pass
        if b.state in (State.READY_TO_PAY, State.PAYMENT_PENDING, State.PAID):
            assert b.open_problems() == [], (b.state, b.open_problems())
            assert all(line.verdict == "ALLOWED" for line in b.lines.values() if line.marked)
            assert b.lines
        if b.state is State.NEEDS_ASSISTANCE:
            assert b.open_problems()


def test_a_late_verdict_never_puts_a_problem_on_a_basket_being_paid() -> None:
    b = basket()
    line = b.add(MILK, MILK.gtin, NOON, ki=f"01{MILK.gtin}21S1")
    assert line is not None
    b.verdict(line.id, "ALLOWED")
    b.checkout()
    b.start_payment("p")
    with pytest.raises(BasketError) as info:
        b.verdict(line.id, "BLOCKED")  # a second answer, after the customer started paying
    assert info.value.code == "wrong_state" and b.open_problems() == [] and b.state is State.PAYMENT_PENDING


def test_the_attendant_queue_puts_critical_first_then_the_longest_waiting() -> None:
    from edge_agent.basket.commands import CallStaff, from_journal
    from edge_agent.basket.interventions import queue

    one, two = Basket("b-1", "lane-1", Rules(MSK)), Basket("b-2", "lane-2", Rules(MSK))
    CallStaff().apply(one)
    CallStaff().apply(one)  # a second press while the first waits: still one request
    helps = [p for p in one.problems.values() if p.code == "HELP_REQUESTED"]
    assert len(helps) == 1 and one.state.value == "OPEN"  # staff come; nothing of the purchase waits for them
    assert from_journal("call_staff", {}) == CallStaff()
    blocked = two._problem("MARKING_BLOCKED", "CRITICAL", None, "blocked")
    seen = {(one.id, helps[0].id): 100.0, (two.id, blocked.id): 160.0}
    q = queue([one, two], seen, now=200.0)
    assert [(i.lane, i.code) for i in q] == [("lane-2", "MARKING_BLOCKED"), ("lane-1", "HELP_REQUESTED")]
    assert q[1].waiting_s == 100.0 and q[1].actions == ("approve",) and q[0].actions == ()


def test_card_prices_apply_once_the_customer_identifies_and_points_go_on_what_is_left() -> None:
    from dataclasses import replace

    choc = Product("04600000000015", "Chocolate", 12_900, 20, "sweets", loyalty_price=9_900)
    cheese = replace(choc, gtin="04600000000046", name="Cheese", price=129_000, loyalty_price=99_000, sold_by="weight")
    b = basket()
    first = b.add(choc, choc.gtin, NOON)
    weighed = b.add(cheese, cheese.gtin, NOON, grams=352)
    b.add(BREAD, BREAD.gtin, NOON)  # no card price
    assert first is not None and weighed is not None
    assert b.card_discount == 0 and b.total == 12_900 + 45_408 + 5_500  # before: full prices
    assert b.lines[first.id].card_price == 9_900 and b.lines[weighed.id].card_price == 34_848
    b.identify("C-1", "+79990000001")
    assert b.lines[first.id].card_discount == 3_000 and b.lines[weighed.id].card_discount == 45_408 - 34_848
    assert b.card_discount == 3_000 + 10_560 and b.total == 9_900 + 34_848 + 5_500
    later = b.add(choc, choc.gtin, NOON)  # an item after identifying: at the card price at once
    assert later is not None and b.lines[later.id].amount == 9_900
    b.checkout()
    with pytest.raises(BasketError, match="bad_discount"):
        b.apply_discount({first.id: 9_901}, "H-1")  # points pay at most what the card left
    b.apply_discount({first.id: 9_900}, "H-1")
    assert b.lines[first.id].amount == 0 and b.total == 34_848 + 5_500 + 9_900
