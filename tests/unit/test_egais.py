"""ЕГАИС in the pure core: an excise stamp read or refused with a typed error, the cheque in both
forms (golden, and read back), the УТМ's answer read strictly, and what stamps and ЕГАИС's
answer do to a basket."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_agent.basket import Basket, BasketError, Product, Rules, State
from edge_agent.basket.values import EgaisSale
from edge_agent.egais import stamp
from edge_agent.egais.cheque import (
    Bottle,
    Cheque,
    UtmAnswerError,
    UtmRefused,
    cheque_xml,
    negated,
    read_answer,
    read_cheque,
)
from tests.conftest import examples

MSK = ZoneInfo("Europe/Moscow")
NOON = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
NEW = "22N" + "0" * 20 + "1" + "A" * 123 + "XYZ"
OLD = "1" * 8 + "ABCDEF" * 10
VODKA = Product("04600000000077", "Vodka 0.5 l", 49_900, 20, "alcohol", egais=True, volume_ml=500)


def test_a_stamp_is_68_or_150_uppercase_letters_and_digits() -> None:
    assert (stamp.parse(NEW).kind, stamp.parse(OLD).kind) == ("new", "old")
    assert stamp.parse(NEW).short == "22N-00000000"
    for text, code in ((NEW[:-1], "bad_length"), (NEW.lower(), "bad_chars"), ("0104600000000077", "bad_length")):
        with pytest.raises(stamp.StampError) as e:
            stamp.parse(text)
        assert e.value.code == code
    assert stamp.looks_like(NEW) and not stamp.looks_like("0104610053149777215d/wuU\x1d93dGVz")


@given(st.text(max_size=200))
@settings(max_examples=examples(500))
def test_parse_never_fails_but_with_a_stamp_error(text: str) -> None:
    try:
        parsed = stamp.parse(text)
    except stamp.StampError as e:
        assert e.code in ("bad_length", "bad_chars")
    else:
        assert len(parsed.text) in (68, 150)


CHEQUE = Cheque(
    kind="sale",
    inn="7700000000",
    kpp="770001001",
    name="Магазин",
    address="Москва",
    kassa="lane-1",
    shift=3,
    number=17,
    at=datetime(2026, 12, 7, 20, 15),
    bottles=(Bottle(NEW, "4600000000077", 49_900, 500),),
)


def test_the_legacy_cheque_golden() -> None:
    xml = cheque_xml(CHEQUE, "Cheque").decode()
    assert xml == (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Cheque inn="7700000000" kpp="770001001" address="Москва" name="Магазин" kassa="lane-1" shift="3" '
        f'number="17" datetime="0712262015"><Bottle price="499.00" barcode="{NEW}" ean="4600000000077" '
        'volume="0.5000" /></Cheque>'
    )


def test_the_cheque_v3_carries_the_header_and_bottles_and_a_return_is_negative() -> None:
    xml = cheque_xml(CHEQUE, "ChequeV3")
    text = xml.decode()
    for part in (
        "<ck:Kassa>lane-1</ck:Kassa>",
        "<ck:Shift>3</ck:Shift>",
        "<ck:Number>17</ck:Number>",
        "<ck:Type>Продажа</ck:Type>",
        "<ck:Date>2026-12-07T20:15:00</ck:Date>",
        f"<ck:Barcode>{NEW}</ck:Barcode>",
        "<ck:Price>499.00</ck:Price>",
    ):
        assert part in text
    back = negated(xml, 18, datetime(2026, 12, 7, 20, 16))
    cheque, form = read_cheque(back)
    assert form == "ChequeV3" and cheque.kind == "return" and cheque.number == 18
    assert [(b.stamp, b.price) for b in cheque.bottles] == [(NEW, -49_900)]
    assert "<ck:Type>Возврат</ck:Type>" in back.decode() and "<ck:Price>-499.00</ck:Price>" in back.decode()
    legacy, _ = read_cheque(cheque_xml(CHEQUE, "Cheque"))
    assert legacy.bottles == CHEQUE.bottles and legacy.number == 17


def test_the_utm_answer_is_read_strictly() -> None:
    answer = read_answer(b"<A><url>https://check.egais.ru?id=1</url><sign>ABCDEF0123456789</sign><ver>2</ver></A>")
    assert answer.url == "https://check.egais.ru?id=1" and answer.printed_sign == "ABCD EF01 2345 6789"
    with pytest.raises(UtmRefused, match="уже продана"):
        read_answer("<A><error>марка уже продана</error></A>".encode())
    for bad in (b"not xml", b"<B/>", b"<A><url>ftp://x</url><sign>1</sign></A>", b"<A>" + b" " * 70_000 + b"</A>"):
        with pytest.raises(UtmAnswerError):
            read_answer(bad)


def test_a_bottle_waits_for_its_stamp_and_egais_answer_and_a_line_change_voids_the_acceptance() -> None:
    b = Basket("b-1", "lane-1", Rules(MSK))
    with pytest.raises(BasketError) as e:
        b.bind_stamp(NEW, NOON)  # no bottle yet
    assert e.value.code == "no_bottle"
    bottle = b.add(VODKA, VODKA.gtin, NOON, ki="v1")
    assert bottle is not None and [p.code for p in b.open_problems()] == ["STAMP_NEEDED"]
    assert b.bind_stamp(NEW, NOON).stamp == NEW and b.open_problems() == [] and b.state is State.SCANNING
    with pytest.raises(BasketError) as e:
        b.bind_stamp(NEW, NOON)
    assert e.value.code == "stamp_again"
    b.checkout()
    b.egais_answered(EgaisSale("b-1:egais:1", "https://check", "SIGN", (bottle.id,)), "")
    assert b.egais is not None
    b.add(Product("04607001234560", "Bread", 5_500), "04607001234560", NOON)
    assert b.egais is None  # the cheque was for the old lines: the shell returns it


def test_a_discount_that_changes_a_bottles_price_voids_the_acceptance() -> None:
    b = Basket("b-1", "lane-1", Rules(MSK))
    bottle = b.add(VODKA, VODKA.gtin, NOON, ki="v1")
    bread = b.add(Product("04607001234560", "Bread", 5_500), "04607001234560", NOON)
    assert bottle is not None and bread is not None
    b.bind_stamp(NEW, NOON)
    b.checkout()
    b.egais_answered(EgaisSale("b-1:egais:1", "https://check", "SIGN", (bottle.id,), (49_900,)), "")
    b.apply_discount({bread.id: 500}, "hold-1")  # points on the bread: the bottle's price stands
    assert b.egais is not None
    b.apply_discount({bottle.id: 1_000}, "hold-2")  # on the bottle: ЕГАИС was told another price
    assert b.egais is None


def test_a_refusal_makes_each_bottle_a_critical_problem() -> None:
    b = Basket("b-1", "lane-1", Rules(MSK))
    bottle = b.add(VODKA, VODKA.gtin, NOON, ki="v1")
    b.add(Product("04607001234560", "Bread", 5_500), "04607001234560", NOON)
    assert bottle is not None
    b.bind_stamp(NEW, NOON)
    b.checkout()
    b.egais_answered(None, "марка не найдена", "EGAIS_REFUSED")
    assert [(p.code, p.level, p.line_id) for p in b.open_problems()] == [("EGAIS_REFUSED", "CRITICAL", bottle.id)]
    b.remove(bottle.id, "customer", "lane-1", NOON)  # set aside: the rest can be paid
    b.checkout()
    assert b.state is State.READY_TO_PAY and b.total == 5_500
