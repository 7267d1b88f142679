"""Weighed and part-pack goods in the pure core: the weight a mark code carries, the price of a
weight or a part, a part no sale can have refused, and the receipt's positions as ATOL's tasks
(golden): kilograms with ``itemDryForSale``, a part of a pack as ``itemFractionalAmount``."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_agent.basket import Basket, BasketError, Product, Rules, State
from edge_agent.codes import parse
from edge_agent.fiscal.atol_tasks import begin_task, return_task, sell_task
from edge_agent.fiscal.marks import MarkCheck, Measure, MeasureError
from edge_agent.fiscal.receipt import ReceiptRules, Tender
from edge_agent.lanes.items import weight_grams
from tests.conftest import examples

MSK = ZoneInfo("Europe/Moscow")
NOON = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CHEESE = Product("04600000000053", "Cheese", 129_000, 10, "dairy", "milk", marked=True, sold_by="weight")
YOGURT = Product("04600000000060", "Yogurt x10", 50_000, 10, "dairy", "milk", marked=True, pack_units=10)
CHEESE_CODE = "0104600000000053215CH001\x1d93ab1c\x1d3103000352"
YOGURT_CODE = "0104600000000060215YG001\x1d93ab2c"
OK = MarkCheck(
    {"imcCheckFlag": True, "imcCheckResult": True, "imcStatusInfo": True, "imcEstimatedStatusCorrect": True},
    "itemEstimatedStatusCorrect",
)


@pytest.mark.parametrize(
    ("code", "grams"),
    [
        (CHEESE_CODE, 352),  # 3103: kilograms with 3 decimals
        ("0104600000000053215CH001\x1d93ab1c\x1d3102000125", 1250),  # 1.25 kg
        ("0104600000000053215CH001\x1d93ab1c\x1d3100000002", 2000),
        ("0104600000000053215CH001\x1d93ab1c\x1d3105012345", 123),  # 0.12345 kg, to the gram
        (YOGURT_CODE, None),
    ],
)
def test_the_weight_a_mark_code_carries(code: str, grams: int | None) -> None:
    assert weight_grams(parse(code)) == grams


def test_a_measure_is_a_piece_a_weight_or_a_part_less_than_its_pack() -> None:
    assert Measure(grams=352).status() == "itemDryForSale" and Measure(grams=352).status(sale=False) == "itemDryReturn"
    assert (Measure(grams=352).unit, Measure(grams=352).quantity) == ("kilogram", 0.352)
    assert Measure(part=(3, 10)).fraction == "3/10" and Measure(part=(3, 10)).status() == "itemPieceSold"
    for bad in ((10, 10), (0, 10), (11, 10), (3, 0)):
        with pytest.raises(MeasureError, match="numerator"):
            Measure(part=bad)
    with pytest.raises(MeasureError):
        Measure(grams=0)


def basket_with_cheese_and_yogurt() -> tuple[Basket, int, int]:
    b = Basket("b-1", "lane-1", Rules(MSK))
    cheese = b.add(CHEESE, CHEESE.gtin, NOON, ki="ch", mark_code=CHEESE_CODE, grams=352)
    yogurt = b.add(YOGURT, YOGURT.gtin, NOON, ki="yg", mark_code=YOGURT_CODE)
    assert cheese is not None and yogurt is not None
    return b, cheese.id, yogurt.id


def test_a_weighed_line_costs_its_weight_and_a_part_its_share_of_the_pack() -> None:
    b, cheese, yogurt = basket_with_cheese_and_yogurt()
    assert b.lines[cheese].price == 45_408 and b.lines[cheese].unit_price == 129_000  # 0.352 × 1 290,00
    assert b.lines[yogurt].price == 50_000 and b.lines[yogurt].part is None  # the whole pack until told
    for line_id in (cheese, yogurt):
        b.verdict(line_id, "ALLOWED")
        b.register_checked(line_id, OK, None)
    b.checkout()
    line = b.set_part(yogurt, 3)
    assert (line.part, line.price) == ((3, 10), 15_000) and b.state is State.SCANNING
    assert line.verdict is None and line.kkt is None  # checked again for three units, on both sides
    with pytest.raises(BasketError, match="unverified"):
        b.checkout()
    assert b.set_part(yogurt, 10).part is None  # all ten: the whole pack again
    for units in (0, 11):
        with pytest.raises(BasketError) as e:
            b.set_part(yogurt, units)
        assert e.value.code == "bad_part"
    with pytest.raises(BasketError) as e:
        b.set_part(cheese, 1)
    assert e.value.code == "not_a_pack"


def test_a_weighed_item_whose_code_carries_no_weight_is_not_sold() -> None:
    b = Basket("b-1", "lane-1", Rules(MSK))
    line = b.add(CHEESE, CHEESE.gtin, NOON, ki="ch", mark_code="0104600000000053215CH001\x1d93ab1c")
    assert line is not None and line.price == 0
    assert [(p.code, p.level) for p in b.open_problems()] == [("WEIGHT_UNKNOWN", "CRITICAL")]


@given(st.integers(1, 10_000_000), st.integers(1, 1_000_000))
@settings(max_examples=examples(500))
def test_a_weighed_price_is_within_half_a_kopeck(per_kg: int, grams: int) -> None:
    b = Basket("b-1", "lane-1", Rules(MSK))
    product = Product("04600000000053", "Cheese", per_kg, 10, "dairy", sold_by="weight")
    line = b.add(product, product.gtin, NOON, ki="ch", grams=grams)
    assert line is not None and abs(line.price - per_kg * grams / 1000) <= 0.5


def test_the_sell_and_return_tasks_of_a_weighed_item_and_a_part_golden() -> None:
    b, cheese, yogurt = basket_with_cheese_and_yogurt()
    b.set_part(yogurt, 3)
    for line_id in (cheese, yogurt):
        b.verdict(line_id, "ALLOWED", fiscal_1265="UUID=x&Time=1")
        b.register_checked(line_id, OK, None)
    lines = list(b.lines.values())
    task = sell_task(lines, [Tender(b.total)], ReceiptRules())
    cheese_pos, yogurt_pos = task["items"]
    assert {k: cheese_pos[k] for k in ("price", "quantity", "amount", "measurementUnit")} == {
        "price": 1290.0,
        "quantity": 0.352,
        "amount": 454.08,
        "measurementUnit": "kilogram",
    }
    assert {k: cheese_pos["imcParams"][k] for k in ("itemEstimatedStatus", "itemQuantity", "itemUnits")} == {
        "itemEstimatedStatus": "itemDryForSale",
        "itemQuantity": 0.352,
        "itemUnits": "kilogram",
    }
    assert {k: yogurt_pos[k] for k in ("price", "quantity", "amount", "measurementUnit")} == {
        "price": 150.0,
        "quantity": 1,
        "amount": 150.0,
        "measurementUnit": "piece",
    }
    assert yogurt_pos["imcParams"]["itemFractionalAmount"] == "3/10"
    assert yogurt_pos["imcParams"]["itemEstimatedStatus"] == "itemPieceSold"
    back = return_task(lines, [Tender(b.total)], ReceiptRules())
    assert [i["imcParams"]["itemEstimatedStatus"] for i in back["items"]] == ["itemDryReturn", "itemPieceReturn"]
    # the register's check asks about the same quantity the receipt sells
    begin = begin_task(CHEESE_CODE, "itemDryForSale", Measure(grams=352))["params"]
    assert (begin["itemQuantity"], begin["itemUnits"]) == (0.352, "kilogram")
    assert begin_task(YOGURT_CODE, "itemPieceSold", Measure(part=(3, 10)))["params"]["itemFractionalAmount"] == "3/10"
