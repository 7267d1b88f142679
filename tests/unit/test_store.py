"""The store: migrations, atomic journal + outbox, exact restore, codes and the sold set."""

from __future__ import annotations

import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from edge_agent.basket import BasketError, Product, State
from edge_agent.store import MIGRATIONS, Store

MSK = ZoneInfo("Europe/Moscow")
AT = "2026-11-23T09:00:00+00:00"
MILK = Product("04610053149777", "Milk 1 l", 8_990, 10, "dairy", "milk", marked=True)
KI = "0104610053149777215d/wuU"


def product_args(p: Product) -> dict[str, object]:
    return {f: getattr(p, f) for f in p.__dataclass_fields__}


def test_migrations_run_once_and_the_catalog_round_trips(tmp_path: Path) -> None:
    store = Store(tmp_path / "a.db", MSK)
    assert store.migrate() == len(MIGRATIONS)
    store.upsert_products([MILK])
    again = Store(tmp_path / "a.db", MSK)  # reopening migrates nothing and keeps the data
    assert again.product(MILK.gtin) == MILK and again.product("04699999999993") is None


def test_a_refused_command_leaves_no_trace(tmp_path: Path) -> None:
    store = Store(tmp_path / "a.db", MSK)
    basket = store.open_basket("b1", "lane-1", "t")
    with pytest.raises(BasketError):
        store.apply(basket, "checkout", {}, "t")  # empty basket
    assert store.db.conn.execute("SELECT COUNT(*) FROM journal").fetchone()[0] == 0
    assert [p["type"] for _, _, p in store.unsent()] == ["basket.opened"]


def test_restore_rebuilds_lines_problems_and_state_exactly(tmp_path: Path) -> None:
    store = Store(tmp_path / "a.db", MSK)
    basket = store.open_basket("b1", "lane-1", "sco/v1/s/lane-1/evt")
    line = store.apply(basket, "add", {"product": product_args(MILK), "gtin": MILK.gtin, "ki": KI, "at": AT}, "t")
    store.apply(basket, "verdict", {"line_id": line.id, "outcome": "BLOCKED", "reason": "RPN"}, "t")
    store.apply(basket, "add", {"product": None, "gtin": "04699999999993", "at": AT}, "t")
    (restored,) = Store(tmp_path / "a.db", MSK).restore()
    assert restored.lines == basket.lines and restored.problems == basket.problems
    assert restored.state is basket.state is State.NEEDS_ASSISTANCE


def test_paid_basket_enters_the_sold_set_and_closed_ones_are_not_restored(tmp_path: Path) -> None:
    store = Store(tmp_path / "a.db", MSK)
    basket = store.open_basket("b1", "lane-1", "t")
    line = store.apply(basket, "add", {"product": product_args(MILK), "gtin": MILK.gtin, "ki": KI, "at": AT}, "t")
    store.apply(basket, "verdict", {"line_id": line.id, "outcome": "ALLOWED"}, "t")
    for op, args in [("checkout", {}), ("start_payment", {"payment_id": "p1"}),
                     ("payment_result", {"approved": True, "at": AT})]:  # fmt: skip
        store.apply(basket, op, args, "t")
    assert store.sold_here(KI)
    store.apply(basket, "close", {}, "t")
    assert store.restore() == []


def test_received_codes_give_the_full_mark_code_for_an_epc(tmp_path: Path) -> None:
    store = Store(tmp_path / "a.db", MSK)
    store.receive_codes([(KI, KI + "\x1d93dGVz")])
    assert store.mark_code_for(KI) == KI + "\x1d93dGVz" and store.mark_code_for("01x") is None


def test_outbox_drains_in_order(tmp_path: Path) -> None:
    store = Store(tmp_path / "a.db", MSK)
    store.open_basket("b1", "lane-1", "t1")
    store.open_basket("b2", "lane-2", "t2")
    rows = store.unsent()
    assert [t for _, t, _ in rows] == ["t1/basket.opened", "t2/basket.opened"]
    store.mark_sent([rows[0][0]])
    assert [t for _, t, _ in store.unsent()] == ["t2/basket.opened"] and store.outbox_depth() == 1


def test_outbox_rows_are_cloudevents_and_a_paid_basket_posts_its_sale_and_epcis(tmp_path: Path) -> None:
    from edge_agent.sync import envelope

    store = Store(
        tmp_path / "a.db", MSK, epcis_topic="sco/v1/s1/trace/epcis", read_point="urn:epc:id:sgln:4600000.00042.0"
    )
    lane = "sco/v1/s1/lane-1/evt"
    woken: list[int] = []
    store.outbox_listeners.append(lambda: woken.append(1))
    basket = store.open_basket("b1", "lane-1", lane)
    line = store.apply(basket, "add", {"product": product_args(MILK), "gtin": MILK.gtin, "ki": KI, "at": AT}, lane)
    store.apply(basket, "verdict", {"line_id": line.id, "outcome": "ALLOWED"}, lane)
    store.apply(basket, "checkout", {}, lane)
    store.apply(basket, "identify", {"customer": "C-0001"}, lane)
    store.apply(basket, "discount", {"allocation": {str(line.id): 990}, "hold_id": "H-1"}, lane)
    assert basket.total == 8_000
    store.apply(basket, "start_payment", {"payment_id": "pay-1"}, lane)
    tender = {"method": "card", "payment_id": "P-1", "amount": 8_000}
    store.apply(basket, "payment_result", {"approved": True, "at": AT, "tender": tender}, lane)
    rows = store.unsent(limit=100)
    events = [envelope.decode(json.dumps(p)) for _, _, p in rows]
    assert len(woken) == 8  # one wake-up per commit that wrote outbox rows (open + 7 commands)
    assert len({e.id for e in events}) == len(events)  # every event has its own id
    assert all(e.source == "sco://s1/lane-1" for e in events)
    topics = [t for _, t, _ in rows]
    assert topics[-3:] == [f"{lane}/basket.payment_result", f"{lane}/transaction.posted", "sco/v1/s1/trace/epcis"]
    posted = events[-2].data
    assert posted["transactionId"] == "b1" and posted["totalKop"] == 8_000 and posted["discountKop"] == 990
    assert posted["lines"][0]["markingCode"] is None and posted["tender"] == tender
    doc = events[-1].data
    event = doc["epcisBody"]["eventList"][0]
    assert doc["schemaVersion"] == "2.0" and event["bizStep"] == "retail_selling"
    assert event["disposition"] == "retail_sold" and event["epcList"] == [
        "https://id.gs1.org/01/04610053149777/21/5d%2FwuU"
    ]
    assert [e.seq for e in events[1:]] == sorted(e.seq for e in events[1:])  # seq follows the journal
    restored = Store(tmp_path / "a.db", MSK).restore()
    assert restored[0].total == 8_000 and restored[0].customer == "C-0001"  # discount and customer replay


def test_catalog_and_codes_streams_replace_on_snapshot_and_patch_on_delta(tmp_path: Path) -> None:
    store = Store(tmp_path / "a.db", MSK)
    assert store.stream_version("catalog") == -1
    store.apply_stream("catalog", 3, True, {"products": [product_args(MILK)]})
    store.apply_stream("catalog", 4, False, {"products": [{**product_args(MILK), "price": 9_490}]})
    assert store.product(MILK.gtin).price == 9_490 and store.stream_version("catalog") == 4  # type: ignore[union-attr]
    store.apply_stream("catalog", 5, False, {"delete": [MILK.gtin]})
    assert store.product(MILK.gtin) is None
    store.apply_stream("codes", 1, True, {"codes": {KI: KI + "\x1d93dGVz"}})
    store.apply_stream("codes", 2, True, {"codes": {}})  # a snapshot replaces everything
    assert store.mark_code_for(KI) is None and store.stream_version("codes") == 2
