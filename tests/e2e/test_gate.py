"""The demo store's exit gate, end to end: the daemon reads the gate's LLRP reader over TCP;
an unpaid item walking out alarms (its event queued for central, the attendant's queue, the
reader's GPO on for the alarm's time, resolved by staff with an audit row); a paid item, an
item of another store and anything walking in are silent; a copied tag is refused at the lane
and alarms at the gate. The staff page in Chromium shows the alarm."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

from edge_agent.basket import Product
from sim.scenarios import PRODUCTS, STAFF_PIN, Item
from tests.e2e.axe import violations
from tests.e2e.browser import ARTIFACTS, demo_store, handheld
from tests.e2e.demo_store import RunningStore, until

BREAD, CHOC = PRODUCTS[2], PRODUCTS[3]
FOREIGN = Product("04680000000017", "Another chain's socks", 30_000, 20, "clothes")  # not in this catalogue
GENUINE, COPY = bytes.fromhex("E2801190200060A1B2C3D4E5"), bytes.fromhex("E28011902000600000BADBAD")


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStore]:
    yield from demo_store(tmp_path_factory, "gate")


def walk(shop: RunningStore, item: Item, antennas: tuple[int, ...] = (1, 2), tid: bytes = b"") -> None:
    assert shop.store is not None
    shop.wait(shop.store.gate.walk(item.epc, antennas, 0.25, tid=tid))


def crossings(shop: RunningStore, direction: str) -> float:
    return float(shop.services.metrics.gate_crossings.labels("exit", direction)._value.get())


def alarms(shop: RunningStore) -> list[dict[str, Any]]:
    return [a.to_dict() for a in shop.call(lambda: shop.services.records.gate_alarms.list(open_only=False))]


def passage_over(shop: RunningStore, item: Item) -> None:
    """Wait until the gate counts the tag's next reads as a new passage (it was quiet long enough)."""
    import time

    gate = shop.services.gates.by_reader["gate-exit"]
    until("the passage over", lambda: not shop.call(lambda: gate.crossings.passing(item.epc.upper(), time.time())))


def silent_walk(shop: RunningStore, item: Item, antennas: tuple[int, ...] = (1, 2)) -> None:
    """Walk past the gate, wait until the daemon saw the crossing, and check nothing alarmed."""
    direction = "out" if antennas[0] < antennas[-1] else "in"
    before, seen = len(alarms(shop)), crossings(shop, direction)
    walk(shop, item, antennas)
    until(f"the {direction} crossing", lambda: crossings(shop, direction) > seen)
    assert len(alarms(shop)) == before, item.product.name


def test_only_an_unpaid_item_of_this_store_walking_out_alarms(shop: RunningStore, browser: Any) -> None:
    assert shop.store is not None
    gate = shop.store.gate
    with shop.store.client() as http:
        paid = Item(BREAD, "G0000001")
        shop.sell(http, "lane-1", [paid])
        silent_walk(shop, paid)  # paid: silent
        silent_walk(shop, Item(FOREIGN, "G0000002"))  # another store's item: silent
        silent_walk(shop, Item(CHOC, "G0000003"), (2, 1))  # walking in (a return, an online order): silent

        staff = handheld(browser, shop, "ru-RU")

        unpaid = Item(CHOC, "G0000004")
        walk(shop, unpaid)
        [alarm] = until("the alarm", lambda: alarms(shop))
        assert (alarm["reason"], alarm["name"], alarm["gate"]) == ("UNPAID", CHOC.name, "exit")
        assert alarm["at"] - alarm["first_read_at"] < 0.5 + 0.25  # the walk puts 250 ms between the antennas
        until("the gate's light on", lambda: gate.gpo[1])
        on_at = next(t for t, port, on in gate.gpo_log if port == 1 and on)
        until("the light off again", lambda: not gate.gpo[1], timeout_s=10)
        off_at = next(t for t, port, on in gate.gpo_log if port == 1 and not on and t > on_at)
        assert 2.5 <= off_at - on_at <= 4.5  # alarm_s = 3

        db = sqlite3.connect(shop.services.records.db.path)
        [(topic, payload)] = db.execute("SELECT topic, payload FROM outbox WHERE topic LIKE '%gate.alarm'").fetchall()
        assert json.loads(payload)["data"]["ki"] == alarm["ki"] and "/exit/evt/" in topic

        item = staff.wait_for_selector("[data-intervention=GATE_ALARM]")  # the cue, the item and the time
        assert CHOC.name in item.inner_text() and staff.evaluate("window.cues") >= 1
        staff.screenshot(path=str(ARTIFACTS / "staff-gate-alarm.png"), full_page=True)
        assert violations(staff) == []
        staff.tap("[data-intervention=GATE_ALARM] button[data-resolve]")
        staff.wait_for_selector("[data-intervention=GATE_ALARM]", state="detached")
        assert db.execute("SELECT staff, action FROM audit WHERE action = 'resolve_gate_alarm'").fetchall() == [
            ("s-1", "resolve_gate_alarm")
        ]
        staff.close()


def test_a_copied_tag_is_refused_at_the_lane_and_alarms_at_the_gate(shop: RunningStore) -> None:
    assert shop.store is not None
    genuine = Item(CHOC, "G0000010")
    with shop.store.client() as http:
        shop.call(lambda: shop.services.records.tids.bind({genuine.ki: GENUINE.hex()}, "central"))  # from central
        shop.sell(http, "lane-2", [genuine], tid=GENUINE)  # the genuine bar, on its own chip: sold
        shop.place("lane-2", genuine.epc, COPY)  # its EPC copied onto a blank chip, brought to a till
        problem = until(
            "CLONED_TAG",
            lambda: next((p for p in shop.basket(http, "lane-2")["problems"] if p["code"] == "CLONED_TAG"), None),
        )
        assert problem["level"] == "CRITICAL"
        shop.remove("lane-2", genuine.epc)
        before = len(alarms(shop))
        walk(shop, genuine, tid=COPY)  # and walked out: its EPC is in the sold set, its chip is not the one sold
        new = until("the alarm", lambda: alarms(shop)[before:])
        assert [a["reason"] for a in new] == ["CLONED_TAG"]


def test_an_item_brought_back_walks_in_silently_and_once_returned_is_the_stores_again(shop: RunningStore) -> None:
    """Returns come in through the door (silent: direction); after the return flow took it back,
    the item is store stock, and walking it out unpaid alarms like any other."""
    assert shop.store is not None
    bar = Item(CHOC, "G0000020")
    with shop.store.client() as http:
        shop.sell(http, "lane-1", [bar])
        silent_walk(shop, bar, (1, 2))  # the customer leaves with it: paid
        passage_over(shop, bar)
        silent_walk(shop, bar, (2, 1))  # and brings it back another day: walking in
        token = http.post("/api/staff/token", json={"staff_id": "s-1", "pin": STAFF_PIN}).json()["token"]
        staff = {"authorization": f"Bearer {token}"}
        done = http.post("/api/staff/returns", json={"codes": [bar.ki]}, headers=staff)
        assert done.status_code == 200, done.text
        until("the return done", lambda: not shop.call(lambda: shop.services.records.sold.sold_here(bar.ki)))
        before = len(alarms(shop))
        passage_over(shop, bar)
        walk(shop, bar)  # taken out again without paying
        new = until("the alarm", lambda: alarms(shop)[before:])
        assert [(a["reason"], a["ki"]) for a in new] == [("UNPAID", bar.ki)]


def test_an_item_put_in_while_paying_starts_the_next_basket_instead_of_being_lost(shop: RunningStore) -> None:
    """A bar dropped in the box while the card payment runs is not added to the basket being
    paid, nor forgotten (it would walk out unpaid): it opens the next basket once this one is over."""
    assert shop.store is not None
    first, late = Item(BREAD, "G0000030"), Item(CHOC, "G0000031")
    with shop.store.client() as http:
        shop.place("lane-2", first.epc)
        until("the bread", lambda: shop.holds(http, "lane-2", [first]))
        paying = shop.basket(http, "lane-2")["id"]
        http.post("/api/kiosk/lane-2/checkout", json={}).raise_for_status()
        shop.store.script_customer("lane-2", "late:1.5")
        http.post("/api/kiosk/lane-2/pay", json={"method": "card"}).raise_for_status()
        until("the payment pending", lambda: shop.basket(http, "lane-2")["state"] == "PAYMENT_PENDING")
        shop.place("lane-2", late.epc)
        nxt = until("the next basket", lambda: (b := shop.basket(http, "lane-2"))["id"] != paying and b)
        assert [line["name"] for line in nxt["lines"]] == [CHOC.name]
        assert shop.call(lambda: shop.services.records.sold.sold_here(first.ki))  # the paid basket: the bread only
        assert not shop.call(lambda: shop.services.records.sold.sold_here(late.ki))
        for it in (first, late):
            shop.remove("lane-2", it.epc)
        http.post("/api/kiosk/lane-2/cancel", json={}).raise_for_status()


def test_an_unpaid_item_carried_out_in_and_out_again_alarms(shop: RunningStore) -> None:
    """The walk around a first-pair rule: outer antenna first, back past the inner one, then out
    through the door. Its last passage is outward: the gate alarms."""
    assert shop.store is not None
    bar = Item(CHOC, "G0000030")
    before = len(alarms(shop))
    walk(shop, bar, (2, 1, 2))
    new = until("the alarm", lambda: alarms(shop)[before:])
    assert [(a["reason"], a["ki"]) for a in new] == [("UNPAID", bar.ki)]


def test_a_shelf_tag_by_the_door_read_weakly_on_both_antennas_never_alarms(shop: RunningStore) -> None:
    """A store's RF: an unpaid bar on a shelf by the door is read now and then, weakly, on the
    inner antenna and on the outer one, while people walk through. It never alarms; the unpaid
    item carried out meanwhile does."""
    assert shop.store is not None
    gate = shop.store.gate
    shelf, carried = Item(CHOC, "G0000040"), Item(CHOC, "G0000041")
    rules = shop.services.gates.by_reader["gate-exit"].crossings
    before, strays = len(alarms(shop)), rules.strays
    gate.stray(shelf.epc, 1, rssi=(-82, -71), read_chance=0.3)
    gate.stray(shelf.epc, 2, rssi=(-84, -72), read_chance=0.3)
    try:
        until("the shelf tag read on both sides", lambda: rules.strays - strays >= 60)
        walk(shop, carried)
        new = until("the carried item's alarm", lambda: alarms(shop)[before:])
        until("more reads of the shelf tag", lambda: rules.strays - strays >= 120)
    finally:
        gate.remove(shelf.epc)
    assert [a["ki"] for a in new] == [carried.ki]
    assert [a["ki"] for a in alarms(shop)[before:]] == [carried.ki]
